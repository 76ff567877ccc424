"""Run a command under two rules the units set, enforced by the kernel as systemd would:

- MemoryDenyWriteExecute=yes: prctl(PR_SET_MDWE), Linux 6.3+, kept across fork and exec;
- SystemCallFilter=@system-service, SystemCallFilter=~@privileged, SystemCallErrorNumber=EPERM:
  a seccomp filter (through libseccomp, which systemd itself uses) allowing the system calls
  of systemd's own `@system-service` list minus `@privileged`, as `systemd-analyze
  syscall-filter` prints them; anything else fails with EPERM. Loading it sets
  no_new_privs, as NoNewPrivileges=yes does.

    python tests/e2e/sandbox.py COMMAND [ARG...]

A separate program rather than a `preexec_fn`, so the filter is built in a process with
one thread (forking a threaded test process and calling into C there may deadlock).
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_ACT_ERRNO_EPERM = 0x00050000 | 1


def syscalls(group: str, seen: set[str] | None = None) -> set[str]:
    """Every system call in a systemd group, nested groups expanded."""
    seen = set() if seen is None else seen
    seen.add(group)
    out = subprocess.run(["systemd-analyze", "syscall-filter", group], capture_output=True, text=True, check=True)
    found: set[str] = set()
    for line in out.stdout.splitlines()[1:]:
        name = line.strip()
        if not name or name.startswith("#"):
            continue
        if name.startswith("@"):
            if name not in seen:
                found |= syscalls(name, seen)
        else:
            found.add(name)
    return found


def main(argv: list[str]) -> None:
    allowed = sorted(syscalls("@system-service") - syscalls("@privileged"))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_MDWE) failed (Linux 6.3 or later is needed)")
    seccomp = ctypes.CDLL("libseccomp.so.2")
    seccomp.seccomp_init.restype = ctypes.c_void_p
    seccomp.seccomp_init.argtypes = [ctypes.c_uint32]
    seccomp.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
    seccomp.seccomp_load.argtypes = [ctypes.c_void_p]
    seccomp.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    context = seccomp.seccomp_init(SCMP_ACT_ERRNO_EPERM)
    for name in allowed:
        number = seccomp.seccomp_syscall_resolve_name(name.encode())
        if number >= 0:  # names of other architectures do not resolve here
            if seccomp.seccomp_rule_add(context, SCMP_ACT_ALLOW, number, 0) != 0:
                raise OSError(f"cannot allow {name}")
    if seccomp.seccomp_load(context) != 0:
        raise OSError("seccomp_load failed")
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
