"""scripts/install into a temporary root: what it lays out, `systemd-analyze verify` on the units as
installed, their `systemd-analyze security` scores, an upgrade that migrates, and an uninstall
that keeps the data (or, with --purge, leaves the box as it found it but for the system user)."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SITE_UNITS = ("hotspotd-portal.service", "hotspotd-backoffice.service", "hotspotd-radius.service")
# The units before the console and the worker shared the back office process.
OLD_UNITS = ("hotspotd-admin.service", "hotspotd-worker.service")
ROLES_OF = {"hotspotd-portal.service": "portal", "hotspotd-backoffice.service": "admin,worker",
            "hotspotd-radius.service": "radius", "hotspotd-central.service": "central"}
UNITS = ("hotspotd.target", *SITE_UNITS, "hotspotd-central.service")
SYSTEM_USER_FILES = {"etc/passwd", "etc/group", "etc/shadow", "etc/gshadow", "etc/.pwd.lock"}


@pytest.fixture
def box(tmp_path):
    """An empty root that has the system's own units, as systemd on a Debian box sees them."""
    root = tmp_path / "box"
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    return root


def script(name: str, root: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([str(ROOT / "scripts" / name), "--root", str(root), *args], capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir()}


def owner(path: Path) -> tuple[int, int, int]:
    info = os.stat(path)
    return info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)


def user_ids(root: Path) -> tuple[int, int]:
    line = next(l for l in (root / "etc/passwd").read_text().splitlines() if l.startswith("hotspotd:"))
    return int(line.split(":")[2]), int(line.split(":")[3])


def analyze(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["systemd-analyze", f"--root={root}", *args], capture_output=True, text=True, timeout=120)


def scores(root: Path) -> dict[str, tuple[float, str]]:
    found = {}
    for unit in (*SITE_UNITS, "hotspotd-central.service"):
        out = analyze(root, "security", "--offline=true", "--no-pager", unit)
        assert out.returncode == 0, out.stderr
        match = re.search(r"Overall exposure level for \S+: ([\d.]+) (\w+)", out.stdout)
        found[unit] = (float(match.group(1)), match.group(2))
    return found


def test_install_verify_upgrade_and_uninstall_in_a_temporary_root(box):
    before = files(box)
    out = script("install", box).stdout
    assert "hotspotd is installed" in out
    uid, gid = user_ids(box)
    assert uid != 0 and (box / "etc/sysusers.d/hotspotd.conf").exists()
    # where everything goes, and who may read it
    assert os.access(box / "opt/hotspotd/bin/hotspotd", os.X_OK)
    assert owner(box / "etc/hotspotd") == (0, gid, 0o750)
    assert owner(box / "etc/hotspotd/hotspotd.ini") == (0, gid, 0o640)
    assert owner(box / "var/lib/hotspotd") == (uid, gid, 0o750)
    for database in ("hotspotd.db", "queue.db"):
        assert owner(box / "var/lib/hotspotd" / database) == (uid, gid, 0o640)
    for unit in UNITS:
        text = (box / "etc/systemd/system" / unit).read_text()
        if unit.endswith(".service"):
            assert f"ExecStart=/opt/hotspotd/bin/hotspotd run --role {ROLES_OF[unit]}\n" in text
            for line in ("User=hotspotd", "UMask=0027", "StateDirectory=hotspotd", "ConfigurationDirectory=hotspotd",
                         "ProtectSystem=strict", "ReadWritePaths=/var/lib/hotspotd", "Restart=on-failure",
                         "CapabilityBoundingSet=\n", "NoNewPrivileges=yes"):
                assert line in text, (unit, line)
    wants = box / "etc/systemd/system/hotspotd.target.wants"
    assert sorted(p.name for p in wants.iterdir()) == sorted(SITE_UNITS)
    assert (box / "etc/systemd/system/multi-user.target.wants/hotspotd.target").is_symlink()
    assert not (box / "etc/systemd/system/multi-user.target.wants/hotspotd-central.service").exists()
    verified = analyze(box, "verify", *UNITS)
    assert verified.returncode == 0 and verified.stderr == "", verified.stderr
    found = scores(box)
    print("systemd-analyze security:", found)
    assert all(score <= 2.0 and level in ("OK", "SAFE", "PERFECT") for score, level in found.values()), found
    # the installed command runs against the installed config
    command = str(box / "usr/local/bin/hotspotd")
    checked = subprocess.run([command, "check-config"], capture_output=True, text=True, timeout=120)
    assert checked.returncode == 1 and "[mpesa] consumer_key" in checked.stdout and "warning" not in checked.stdout
    subprocess.run([command, "package", "add", "--name", "Hour", "--price", "10", "--duration", "1h"], check=True,
                   capture_output=True, timeout=120)
    config_text = (box / "etc/hotspotd/hotspotd.ini").read_text()
    assert re.search(r"(?m)^callback_token = [\w-]{24,}$", config_text)

    # an upgrade to a version with a new migration (here: the box's database one behind),
    # with the portal moved to port 80: it migrates, keeps the config and the data
    database = box / "var/lib/hotspotd/hotspotd.db"
    with sqlite3.connect(database) as conn:
        conn.execute("DELETE FROM schema_migration WHERE version = 7")  # the operations migration
        for table in ("alert_message", "alert", "daily_usage", "radius_reader"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DELETE FROM setting WHERE key = 'radius.status_secret'")
    (box / "etc/hotspotd/hotspotd.ini").write_text(config_text.replace("listen = 0.0.0.0:8080", "listen = 0.0.0.0:80")
                                                   .replace("\nfolder = \n", "\nfolder = /srv/hotspot-backups\n"))
    # ... from a version whose console and worker had units of their own, enabled
    units = box / "etc/systemd/system"
    for old in OLD_UNITS:
        (units / old).write_text((units / "hotspotd-portal.service").read_text())
        (wants / old).symlink_to(units / old)
    (units / "hotspotd-worker.service.d").mkdir()
    (units / "hotspotd-worker.service.d/50-install.conf").write_text("[Service]\nReadWritePaths=/srv/old\n")
    upgraded = script("install", box).stdout
    assert "applied migrations [7]" in upgraded
    assert sorted(p.name for p in wants.iterdir()) == sorted(SITE_UNITS)
    assert not any((units / old).exists() or (units / f"{old}.d").exists() for old in OLD_UNITS)
    assert (box / "etc/hotspotd/hotspotd.ini").read_text().count("callback_token = ") == 1
    assert "callback_token" in config_text and config_text.split("callback_token = ")[1].split()[0] in \
        (box / "etc/hotspotd/hotspotd.ini").read_text()
    listed = subprocess.run([command, "package", "list", "--json"], capture_output=True, text=True, timeout=120)
    assert '"name": "Hour"' in listed.stdout
    dropin = box / "etc/systemd/system/hotspotd-portal.service.d/50-install.conf"
    assert "AmbientCapabilities=CAP_NET_BIND_SERVICE" in dropin.read_text()
    # no capability for the console (only where a port < 1024 is used); the worker half may write
    # a backup folder outside the state folder
    backoffice_dropin = (box / "etc/systemd/system/hotspotd-backoffice.service.d/50-install.conf").read_text()
    assert "ReadWritePaths=/srv/hotspot-backups" in backoffice_dropin and "CAP_NET_BIND_SERVICE" not in backoffice_dropin
    assert owner(box / "srv/hotspot-backups") == (uid, gid, 0o750)
    assert analyze(box, "verify", *UNITS).returncode == 0

    # uninstall keeps the config and the data
    script("uninstall", box)
    assert (box / "etc/hotspotd/hotspotd.ini").exists() and database.exists()
    assert not (box / "opt/hotspotd").exists() and not (box / "usr/local/bin/hotspotd").exists()
    assert not any((box / "etc/systemd/system").rglob("hotspotd*"))
    # --purge takes them too: the box is as it was, but for the system user
    script("uninstall", box, "--purge")
    assert files(box) - before == SYSTEM_USER_FILES  # (the backup folder outside /var/lib stays: it is data)
    assert before <= files(box)
