"""Which processes a site runs, and which systemd unit each role lives in.

A site is three processes: the portal, the back office (the console and the worker,
`cli.backoffice`) and RADIUS. `hotspotd run` starts them (`supervisor`), and so do
the units `scripts/install` lays out. `hotspotd run --role NAME` runs one role alone.
"""

# The roles.
ROLES = ("portal", "admin", "worker", "radius")
# The console and the worker in one process.
BACK_OFFICE = "admin,worker"
# The processes `hotspotd run` starts, in this order; the systemd units start the same three.
PROCESSES = ("portal", BACK_OFFICE, "radius")


def unit_of(role: str) -> str:
    """The systemd unit a role runs in (what `journalctl -u` and `systemctl status` take)."""
    return "hotspotd-backoffice" if role in ("admin", "worker") else f"hotspotd-{role}"
