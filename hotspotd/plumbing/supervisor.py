"""The one process supervisor: `hotspotd run` starts the site's processes (portal, back
office, radius: `processes.PROCESSES`) as children and watches them; the radius role uses it
too for `[radius] processes = N`.

SIGTERM/SIGINT are forwarded to the children; if one child dies the others are stopped
and the supervisor exits non-zero (restarting is systemd's job, not ours). Signal
handlers only set a flag; the loop does the work.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from typing import Callable, Sequence

log = logging.getLogger(__name__)

STOP_GRACE = 6.0


def role_command(role: str, config_path: str | None, *extra: str) -> list[str]:
    command = [sys.executable, "-m", "hotspotd"]
    if config_path:
        command += ["--config", str(config_path)]
    return command + ["run", "--role", role, *extra]


def supervise(children_commands: dict[str, Sequence[str]], *, on_tick: Callable[[], None] | None = None,
              ready: Callable[[dict[str, subprocess.Popen]], None] | None = None) -> int:
    """Run each named command as a child until a signal (exit 0) or until one of them dies
    (exit 1)."""
    received: list[int] = []

    def flag(signum: int, frame: object) -> None:
        received.append(signum)

    previous = {s: signal.signal(s, flag) for s in (signal.SIGTERM, signal.SIGINT)}
    children: dict[str, subprocess.Popen] = {}
    try:
        for name, command in children_commands.items():
            children[name] = subprocess.Popen(list(command), env=dict(os.environ))
            log.info("started %s (pid %d)", name, children[name].pid)
        if ready:
            ready(children)
        while not received:
            for role, child in children.items():
                code = child.poll()
                if code is not None:
                    log.error("%s exited with %s; stopping the others", role, code)
                    _stop(children)
                    return 1
            if on_tick:
                on_tick()
            time.sleep(0.2)
        log.info("received %s; stopping", signal.Signals(received[0]).name)
        _stop(children)
        return 0
    finally:
        _stop(children)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def supervise_roles(roles: Sequence[str], config_path: str | None, **kwargs) -> int:
    """`hotspotd run`: every role in `roles` as a child process."""
    return supervise({role: role_command(role, config_path) for role in roles}, **kwargs)


def _stop(children: dict[str, subprocess.Popen]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for role, child in children.items():
        try:
            child.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.error("%s did not stop in %.0f s; killing it", role, STOP_GRACE)
            child.kill()
            child.wait()
