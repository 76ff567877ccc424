"""Long calls into C that hold a thread without yielding, kept off gevent's loop.

In the back office (console and worker in one gevent process) a call such as SQLite's
online backup of the whole database would stop every request and websocket until it
returns; `off_the_loop` runs it in a real thread of gevent's pool and waits there instead.
Everywhere else (threads are threads) it just calls the function.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def gevent_patched() -> bool:
    """Whether gevent has monkey-patched this process (only ever the admin or back office)."""
    if sys.modules.get("gevent") is None:
        return False
    from gevent import monkey

    return monkey.is_module_patched("threading")


def off_the_loop(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)`, in a real thread when gevent runs this process. The function must
    open what it uses (an SQLite connection belongs to the thread that made it)."""
    if not gevent_patched():
        return function(*args)
    import gevent

    return gevent.get_hub().threadpool.apply(function, args)
