"""A believable clock: whether the wall clock can be trusted to sell on, and noticing when it steps.

A Raspberry Pi has no real-time clock: it boots with the time it had at shutdown (or
1970) and NTP steps it minutes later; an operator may set it wrong by hand. Every
subscription starts and ends on the wall clock, so hotspotd asks, before selling, whether
that clock is *believable* (the first answer that holds):

    ntp         the kernel says an NTP client keeps the clock (adjtimex; `[site] require_ntp = yes`)
    (refused)   Daraja's `Date` header, seen this boot, puts the clock more than DARAJA_AGREES off
    daraja      Daraja's `Date` header agrees within DARAJA_AGREES
    held        believable earlier in this boot, and the clock has not stepped since (NTP may
                lose its servers for hours while the uplink is down: the kernel's clock still runs true)
    known-good  (`require_ntp = no` only) not before EARLIEST_SANE and not behind the last
                known-good time, a high-water mark kept while the clock is believable

A *step* is the wall clock moving against the boot clock (CLOCK_BOOTTIME: monotonic, and
counting suspend) by STEP seconds or more. Every role looks on every tick and before it
uses the time; the first to see a step repairs the records (`clock_steps`) in the same
transaction as it records the step, so nobody else acts on the new time before that.

The *frame* of the records: once the clock has been believable this boot, every running
period is in the wall clock's frame, and a step carries them all with it (everyone keeps
the time they had left). After a boot whose clock is not believable the frame is unknown:
nothing that starts a period is sold or applied until it is (`frame_known`), and RADIUS
judges time from `decision_now()`, which never runs behind the last known-good time.

The state is one row (`clock_state`) the roles share; each process keeps its last look
for CHECK_EVERY seconds. docs/clock.md tells what a step does to customers and operators.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from dataclasses import dataclass, fields, replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Callable

from ..errors import ClockNotBelievable
from ..store.db import db, write_transaction

log = logging.getLogger(__name__)

STEP = 120.0  # seconds the wall clock must jump against the boot clock to count as a step
DRIFT = 1.0  # smaller moves (NTP slewing) only update the stored offset
CHECK_EVERY = 1.0  # seconds between a role's looks at the shared state (its watch thread)
STALE_AFTER = 2.5  # seconds after which a caller looks itself (no watch thread: the command line, tests)
MARK_EVERY = 30.0  # seconds between writes of the last known-good time
DARAJA_AGREES = 60.0  # Daraja's Date has whole seconds and a network trip in it; we care about minutes
NTP_EVERY = 5.0  # seconds between asks of the kernel
EARLIEST_SANE = datetime(2025, 1, 1, tzinfo=timezone.utc).timestamp()  # no clock battery: 1970
NOT_BELIEVABLE = ("The hotspot is setting its clock. Buying will work again in a few minutes; "
                  "if you already have a package, you can still log in.")
TIME_ERROR = 5  # adjtimex: the clock is not synchronised (STA_UNSYNC)


def boot_clock() -> float:
    """Seconds since boot, suspend included (what the wall clock is compared against)."""
    return time.clock_gettime(getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC))


def boot_id() -> str:
    """This boot's id (the kernel draws one per boot); '' when it cannot be read."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return ""


def kernel_synchronized() -> bool | None:
    """The kernel's own word (adjtimex, read only: no privilege needed) on whether an NTP
    client keeps the clock in step; chrony, systemd-timesyncd and ntpd all tell it, and it is
    what `timedatectl`'s NTPSynchronized reports. None when it cannot be asked."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        answer = libc.adjtimex(ctypes.create_string_buffer(512))  # modes 0: read only
    except (OSError, AttributeError):
        return None
    return None if answer < 0 else answer != TIME_ERROR


@dataclass(frozen=True)
class State:
    """The shared row `clock_state` (see migration 11 for the units)."""

    boot_id: str | None = None
    wall_offset: float | None = None  # wall clock minus boot clock at the last look
    boot_seen: float | None = None  # boot clock when this boot was first seen
    frame_known: bool = False
    held: bool = False
    believable: bool = False
    source: str = ""
    reason: str = ""
    since: float | None = None  # boot clock when `believable` last changed
    mark: float | None = None  # last known-good time
    daraja_base: float | None = None  # Daraja's time minus the boot clock
    daraja_seen: float | None = None
    last_step_at: float | None = None
    last_step_s: float | None = None


_COLUMNS = tuple(f.name for f in fields(State))
_BOOLEANS = frozenset({"frame_known", "held", "believable"})


def load() -> State:
    row = db.execute_sql(f'SELECT {", ".join(chr(34) + c + chr(34) for c in _COLUMNS)} '
                         'FROM "clock_state" WHERE "id" = 1').fetchone()
    if row is None:
        return State()
    return State(**{c: (bool(v) if c in _BOOLEANS else v) for c, v in zip(_COLUMNS, row)})


def save(state: State) -> None:
    values = [int(getattr(state, c)) if c in _BOOLEANS else getattr(state, c) for c in _COLUMNS]
    names = ", ".join(f'"{c}"' for c in _COLUMNS)
    db.execute_sql(f'INSERT OR REPLACE INTO "clock_state" ("id", {names}) VALUES (1, {", ".join("?" * len(values))})',
                   values)


def span(seconds: float) -> str:
    """+5 h 3 min, -40 s: a clock difference as people say it."""
    sign, left = ("-" if seconds < 0 else "+"), abs(round(seconds))
    if left < 120:
        return f"{sign}{left} s"
    hours, minutes = divmod(left // 60, 60)
    return f"{sign}{hours} h {minutes} min" if hours else f"{sign}{minutes} min"


def utc_text(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def judge(state: State, *, wall: float, synchronized: bool | None, require_ntp: bool) -> tuple[bool, str, str]:
    """(believable, by what, why not) for the clock reading `wall` now."""
    if require_ntp and synchronized:
        return True, "ntp", ""
    if state.daraja_base is not None and state.wall_offset is not None:
        off = state.wall_offset - state.daraja_base
        if abs(off) > DARAJA_AGREES:
            return False, "", f"Daraja's clock puts this clock {span(abs(off))[1:]} {'ahead' if off > 0 else 'behind'}"
        return True, "daraja", ""
    if state.held:
        return True, "held", ""
    if require_ntp:
        return False, "", "NTP has not synchronised the clock (timedatectl set-ntp true, and check the uplink)"
    if wall < EARLIEST_SANE:
        return False, "", f"the clock says {utc_text(wall)}"
    if state.mark is not None and wall < state.mark:
        return False, "", f"the clock ({utc_text(wall)}) is behind the last known-good time ({utc_text(state.mark)})"
    return True, "known-good", ""


def advance(state: State, *, wall: float, mono: float, boot: str, synchronized: bool | None, require_ntp: bool,
            witness: tuple[float, float] | None = None) -> tuple[State, float | None]:
    """The shared state after a look at the clock now, and the step found (seconds) or None.

    `witness`: (Daraja's time minus the boot clock, boot clock when seen) from this process."""
    s, step, offset = state, None, wall - mono
    if s.boot_id != boot or s.wall_offset is None:  # a new boot: the boot clock started again
        s = replace(s, boot_id=boot, wall_offset=offset, boot_seen=mono, frame_known=False, held=False,
                    daraja_base=None, daraja_seen=None, since=mono)
    else:
        moved = offset - s.wall_offset
        if abs(moved) >= STEP:
            step = moved
            carried = s.mark + moved if s.frame_known and s.mark is not None else s.mark
            s = replace(s, wall_offset=offset, held=False, mark=carried, last_step_at=wall, last_step_s=moved)
        elif abs(moved) >= DRIFT:
            s = replace(s, wall_offset=offset)
    if witness is not None and (s.daraja_seen is None or witness[1] > s.daraja_seen):
        s = replace(s, daraja_base=witness[0], daraja_seen=witness[1])
    believable, source, reason = judge(s, wall=wall, synchronized=synchronized, require_ntp=require_ntp)
    if believable:
        mark = s.mark
        if mark is None or wall - mark >= MARK_EVERY or (wall < mark and source in ("ntp", "daraja")):
            mark = wall  # an outside witness also pulls down a mark a wrong clock pushed ahead
        s = replace(s, frame_known=True, held=True, mark=mark)
    if believable != s.believable:
        s = replace(s, since=mono)
    return replace(s, believable=believable, source=source, reason=reason), step


@dataclass(frozen=True)
class Reading:
    """What the clock says now, for the use cases, the roles and `doctor`."""

    believable: bool
    source: str  # ntp | daraja | held | known-good ('' when not believable)
    reason: str  # why not, when not
    frame_known: bool
    wall: datetime
    mark: datetime | None
    last_step_at: datetime | None
    last_step_s: float | None
    unbelievable_for: float  # seconds the clock has not been believable (0 when it is)


def _at(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, timezone.utc)


class SiteClock:
    """The clock of one process (`Runtime.site_clock`). Thread-safe."""

    def __init__(self, *, require_ntp: bool, wall: Callable[[], float] = time.time,
                 mono: Callable[[], float] = boot_clock, synchronized: Callable[[], bool | None] = kernel_synchronized,
                 boot: Callable[[], str] = boot_id) -> None:
        self.require_ntp = require_ntp
        self._wall, self._mono, self._synchronized = wall, mono, synchronized
        self._boot = boot()
        self._lock = threading.RLock()
        self._state: State | None = None
        self._looked_at = float("-inf")
        self._witness: tuple[float, float] | None = None
        self._ntp: tuple[bool | None, float] = (None, float("-inf"))
        self._failed_at = float("-inf")

    # -- the time

    def now(self) -> datetime:
        """The wall clock, after any step it took has been recorded and repaired."""
        wall, mono = self._wall(), self._mono()
        state = self._state
        # The watch thread looks every second; a caller looks itself only when the clock
        # jumped since (so nothing acts on a step before its repair) or nobody looked lately.
        if (state is None or mono - self._looked_at >= STALE_AFTER
                or (state.wall_offset is not None and abs(wall - mono - state.wall_offset) >= STEP)):
            self.tick()
            wall = self._wall()
        return datetime.fromtimestamp(wall, timezone.utc)

    def decision_now(self) -> datetime:
        """The time to judge running periods by (RADIUS, the sweep, the routers' users): the
        wall clock once the frame is known; before, never earlier than the last known-good
        time plus the time this boot has been watched (a clock that booted at its shutdown
        time does not give back the hours the box was off)."""
        now = self.now()
        state = self._state
        if state is None or state.frame_known or state.mark is None:
            return now
        floor = state.mark + max(0.0, self._mono() - (state.boot_seen or self._mono()))
        return max(now, datetime.fromtimestamp(floor, timezone.utc))

    def reading(self) -> Reading:
        self.now()
        state, mono = self._state or State(), self._mono()
        return Reading(state.believable, state.source, state.reason, state.frame_known,
                       datetime.fromtimestamp(self._wall(), timezone.utc), _at(state.mark), _at(state.last_step_at),
                       state.last_step_s,
                       0.0 if state.believable else max(0.0, mono - (state.since if state.since is not None else mono)))

    def believable(self) -> bool:
        return self.reading().believable

    def frame_known(self) -> bool:
        """Whether a period written now is in the same frame as the running ones."""
        self.now()
        return bool(self._state and self._state.frame_known)

    def require_believable(self) -> None:
        """Raise ClockNotBelievable unless selling may go on (one call at the top of each sale)."""
        if not self.believable():
            raise ClockNotBelievable(NOT_BELIEVABLE)

    # -- Daraja's word

    def witness(self, date_header: str | None) -> None:
        """Daraja answered with this `Date` header just now (the Daraja client calls this)."""
        mono = self._mono()
        try:
            said = parsedate_to_datetime(date_header or "")
        except (TypeError, ValueError, IndexError):
            return
        if said is None or said.tzinfo is None:
            return
        # Whole seconds, cut: the server's time was somewhere in the next second.
        self._witness = (said.timestamp() + 0.5 - mono, mono)

    def wants_witness(self, every: float = 3600.0) -> bool:
        """Worth asking Daraja for its time: the clock is not believable, or no word for `every` s."""
        state = self._state or self.tick()
        seen = max(state.daraja_seen or float("-inf"), self._witness[1] if self._witness else float("-inf"))
        return not state.believable or self._mono() - seen >= every

    # -- looking

    def _synchronised(self, mono: float) -> bool | None:
        if not self.require_ntp:
            return None  # not asked: a box without NTP (or a test) has the other witnesses
        value, at = self._ntp
        if mono - at >= NTP_EVERY:
            value = self._synchronized()
            self._ntp = (value, mono)
        return value

    def tick(self) -> State:
        """Look at the clock: record and repair a step, keep the shared state current."""
        with self._lock:
            try:
                return self._look()
            except Exception as exc:  # a locked or full database: keep the last look, try again soon
                mono = self._mono()
                if mono - self._failed_at >= 60:
                    log.warning("cannot record the clock's state: %s", exc)
                    self._failed_at = mono
                self._looked_at = mono
                return self._state or State()

    def _advance(self, stored: State) -> tuple[State, float | None, float, float]:
        wall, mono = self._wall(), self._mono()
        new, step = advance(stored, wall=wall, mono=mono, boot=self._boot, synchronized=self._synchronised(mono),
                            require_ntp=self.require_ntp, witness=self._witness)
        return new, step, wall, mono

    def _look(self) -> State:
        stored = load()
        new, step, wall, mono = self._advance(stored)
        if new != stored or step is not None:
            try:
                with write_transaction():
                    stored = load()  # another process may have seen the same thing first
                    new, step, wall, mono = self._advance(stored)
                    moved = None
                    if step is not None:
                        from . import clock_steps

                        moved = clock_steps.record_step(step, wall=wall, frame_known=stored.frame_known, after=new)
                    if new != stored:
                        save(new)
            except Exception:
                # Judged but not recorded (a full disk): this process still knows what it saw,
                # but a step nobody could repair leaves the records' frame unknown here.
                if step is not None:
                    new = replace(new, frame_known=False)
                self._state, self._looked_at = new, mono
                raise
            self._tell(stored, new, step, moved)
        self._state, self._looked_at = new, mono
        return new

    @staticmethod
    def _tell(before: State, after: State, step: float | None, moved: dict | None) -> None:
        if step is not None:
            log.warning("the clock stepped %s, to %s; %s", span(step),
                        datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
                        f"running periods carried with it: {moved}" if before.frame_known
                        else "nothing was sold on the old time: nothing to carry")
        if before.believable and not after.believable:
            log.warning("the clock is not believable: %s; selling waits", after.reason)
        elif after.believable and not before.believable:
            log.info("the clock is believable (%s); selling goes on", after.source)

    def watch(self, stopping: threading.Event) -> threading.Thread:
        """A thread that looks every CHECK_EVERY seconds until `stopping` is set (every role runs one)."""
        def run() -> None:
            while not stopping.wait(CHECK_EVERY):
                self.tick()
            if not db.is_closed():
                db.close()

        thread = threading.Thread(target=run, name="clock", daemon=True)
        thread.start()
        return thread
