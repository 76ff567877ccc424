"""The command line, called in-process through main(argv) on a temporary site."""

import json

import pytest

from hotspotd import cli

from .conftest import CALLBACK_TOKEN


@pytest.fixture
def ini(tmp_path):
    path = tmp_path / "hotspotd.ini"
    path.write_text(f"[site]\nstate_dir = {tmp_path / 'state'}\n[mpesa]\nconsumer_key = k\nconsumer_secret = s\n"
                    f"passkey = p\ncallback_token = {CALLBACK_TOKEN}\n")
    assert cli.main(["--config", str(path), "init"]) == 0
    return str(path)


def run(ini, capsys, *args):
    code = cli.main(["--config", ini, *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_init_is_idempotent(ini, capsys):
    code, out, _ = run(ini, capsys, "init")
    assert code == 0 and "up to date" in out


def test_package_add_and_list_json(ini, capsys):
    code, out, _ = run(ini, capsys, "package", "add", "--name", "Day", "--price", "50", "--duration", "1d",
                       "--rate", "2M/5M", "--data", "1GB", "--devices", "2")
    assert code == 0 and "package 1 added" in out
    code, out, _ = run(ini, capsys, "package", "list", "--json")
    (row,) = json.loads(out)
    assert row["id"] == 1 and row["duration_s"] == 86400 and row["data_limit"] == 10**9 and row["devices"] == 2


def test_bad_input_is_one_clear_line(ini, capsys):
    code, _, err = run(ini, capsys, "package", "add", "--name", "X", "--price", "5", "--duration", "forever")
    assert code == 1 and err.strip().startswith("hotspotd: duration") and err.count("\n") == 1


def test_check_config_lists_problems(tmp_path, capsys):
    path = tmp_path / "c.ini"
    path.write_text("[site]\nstate_dir = /tmp/x\n")
    code, out, _ = run(str(path), capsys, "check-config")
    assert code == 1 and "[mpesa] consumer_key" in out
    path.write_text("[portal]\nlisten = nowhere\n")
    code, _, err = run(str(path), capsys, "check-config")
    assert code == 2 and "[portal] listen" in err


def test_vouchers_payments_subscriptions_and_queue_lists(ini, capsys):
    run(ini, capsys, "package", "add", "--name", "Hour", "--price", "10", "--duration", "1h")
    code, out, _ = run(ini, capsys, "voucher", "make", "--package", "1", "--count", "3")
    assert code == 0 and len(out.split()) == 3
    for command in (("payment", "list"), ("subscription", "list"), ("queue", "failed"), ("router", "list")):
        code, out, _ = run(ini, capsys, *command, "--json")
        assert code == 0 and json.loads(out) == []
    code, out, _ = run(ini, capsys, "queue", "status", "--json")
    rows = {r["id"]: r for r in json.loads(out)}
    assert rows["apply_payments"]["queued"] == 0 and rows["mode"]["queued"] == "async"
    code, _, err = run(ini, capsys, "queue", "retry")
    assert code == 1 and "--all" in err


def test_admin_add_reads_password_from_stdin(ini, capsys, monkeypatch):
    import io
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret-pass\n"))
    code, out, _ = run(ini, capsys, "admin", "add", "boss")
    assert code == 0
    from hotspotd.console.admins import authenticate
    assert authenticate("boss", "s3cret-pass") and not authenticate("boss", "wrong")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, _, err = run(ini, capsys, "admin", "add", "other")
    assert code == 1 and "at least 8" in err


def test_backup_writes_a_usable_copy(ini, capsys, tmp_path):
    run(ini, capsys, "package", "add", "--name", "Hour", "--price", "10", "--duration", "1h")
    code, out, _ = run(ini, capsys, "backup", str(tmp_path / "bk"))
    import sqlite3
    app_copy = next(line for line in out.split() if "hotspotd-" in line)
    assert sqlite3.connect(app_copy).execute("select name from package").fetchall() == [("Hour",)]


@pytest.mark.parametrize("role", ["portal", "radius", "worker", "admin,worker"])
def test_run_role_refuses_what_check_config_reports(tmp_path, capsys, role):
    """`run --role` stops at the problems `check-config` lists (a short callback token here),
    as a plain `run` does; it starts nothing."""
    import subprocess
    import sys

    path = tmp_path / "short-token.ini"
    path.write_text(f"[site]\nstate_dir = {tmp_path / 'state'}\n[mpesa]\nconsumer_key = k\nconsumer_secret = s\n"
                    "passkey = p\ncallback_token = short\n[portal]\nlisten = 127.0.0.1:0\n"
                    "[admin]\nlisten = 127.0.0.1:0\n[radius]\nlisten = 127.0.0.1\nauth_port = 0\nacct_port = 0\n")
    assert cli.main(["--config", str(path), "init"]) == 0
    capsys.readouterr()
    code, reported, _ = run(str(path), capsys, "check-config")
    assert code == 1 and "[mpesa] callback_token" in reported
    try:
        done = subprocess.run([sys.executable, "-m", "hotspotd", "--config", str(path), "run", "--role", role],
                              capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"run --role {role} started with a callback token check-config refuses")
    assert done.returncode == 2, done.stderr
    problems = [line for line in reported.strip().splitlines() if not line.startswith("warning:")]
    assert problems and all(problem in done.stderr for problem in problems)


def test_run_role_central_needs_none_of_a_site_s_settings(tmp_path, capsys):
    path = tmp_path / "central.ini"
    path.write_text(f"[site]\nstate_dir = {tmp_path / 'central'}\n")
    code, out, _ = run(str(path), capsys, "check-config", "--role", "central")
    assert code == 0 and "is OK" in out
    code, out, _ = run(str(path), capsys, "check-config")
    assert code == 1 and "[mpesa] consumer_key" in out  # a site's config, it would be wrong
