"""One root exception with a few meaningful children.

The edges (command line, HTTP, RADIUS loop) turn these into clear messages and status
codes; the core raises them and never formats HTTP answers itself.
"""


class HotspotdError(Exception):
    """Base of every error hotspotd raises on purpose."""


class ConfigError(HotspotdError):
    """A setting is missing or wrong; the message says which and how to fix it."""


class NotFound(HotspotdError):
    """The thing asked for does not exist."""


class InvalidInput(HotspotdError):
    """Input from a customer, operator or peer that cannot be accepted as it is."""


class Conflict(HotspotdError):
    """The request is well formed but the current state does not allow it."""


class Forbidden(HotspotdError):
    """The request names something this device may not see or change: a device claim the
    router contradicts, or an account's business asked by a device that could not be
    confirmed."""


class UnsafePath(HotspotdError):
    """A file hotspotd would create or open for writing is a symbolic link (or not a plain
    file): someone who may write in its folder could point it anywhere, so it is refused."""


class MalformedCallback(InvalidInput):
    """An M-Pesa callback body that cannot be understood."""


class UpstreamError(HotspotdError):
    """A service hotspotd depends on (Daraja, a router) answered with an error or not at all."""

    def __init__(self, message: str, *, code: str | None = None, retryable: bool = True):
        super().__init__(message)
        self.code = code
        self.retryable = retryable


class StorageUnavailable(HotspotdError):
    """The database cannot take the request now (a full disk, a lock held too long)."""


class ClockNotBelievable(HotspotdError):
    """The box's clock cannot be trusted to sell on yet (`hotspotd.plumbing.clock`): nothing
    that starts a period of access is sold until it can; logins go on."""


class RateLimited(HotspotdError):
    """Too many attempts from one device, address or phone number; `retry_after` seconds
    until the next one is allowed."""

    def __init__(self, retry_after: float):
        self.retry_after = max(1, int(retry_after + 0.999))
        super().__init__(f"Too many attempts. Try again in {self.retry_after} seconds.")
