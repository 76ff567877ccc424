"""A real site for end-to-end tests: config file, databases, role processes on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ..loopback import free_port, wait_for  # noqa: F401 (e2e tests import them from here)

CALLBACK_TOKEN = "e2e-callback-token-0123456789"
ROOT = Path(__file__).resolve().parents[2]


def http(method: str, url: str, body: Any = None, *, raw: bytes | None = None, headers: dict | None = None,
         timeout: float = 10.0, source: str | None = None) -> tuple[int, Any]:
    """A JSON request; with `source`, sent from that loopback address (a device of its own)."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    if source is not None:
        return _http_from(source, method, url, data, headers or {}, timeout)
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json",
                                                                                **(headers or {})})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            text = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as err:
        text, status = err.read().decode(), err.code
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def _http_from(source: str, method: str, url: str, data: bytes | None, headers: dict, timeout: float) -> tuple[int, Any]:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout, source_address=(source, 0))
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=data,
                     headers={"Content-Type": "application/json", **headers})
        response = conn.getresponse()
        status, text = response.status, response.read().decode()
    finally:
        conn.close()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


class Site:
    """Writes a config, runs `hotspotd init`, starts and stops role processes."""

    def __init__(self, folder: Path, daraja_url: str, **sections: dict[str, str]):
        self.folder = folder
        self.portal_port = free_port()
        self.admin_port = free_port()
        self.procs: dict[str, subprocess.Popen] = {}
        values = {
            "site": {"state_dir": str(folder / "state"), "require_ntp": "no"},  # a test box need not run NTP
            "portal": {"listen": f"127.0.0.1:{self.portal_port}", "public_url": f"http://127.0.0.1:{self.portal_port}"},
            "admin": {"listen": f"127.0.0.1:{self.admin_port}"},
            "queue": {"reconcile_interval": "1", "workers": "2"},
            "mpesa": {"base_url": daraja_url, "consumer_key": "sim-key", "consumer_secret": "sim-secret",
                      "passkey": "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919",
                      "callback_token": CALLBACK_TOKEN, "query_after": "2", "pending_timeout": "30", "timeout": "5"},
        }
        for name, extra in sections.items():
            values.setdefault(name, {}).update(extra)
        self.config_path = folder / "hotspotd.ini"
        self.config_path.write_text("".join(
            f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in section.items()) + "\n" for name, section in values.items()))
        self.cli("init")

    @property
    def portal(self) -> str:
        return f"http://127.0.0.1:{self.portal_port}"

    @property
    def callback_url(self) -> str:
        return f"{self.portal}/api/payments/stk-callback/{CALLBACK_TOKEN}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        return env

    def cli(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "hotspotd", "--config", str(self.config_path), *args],
                                input=stdin, capture_output=True, text=True, env=self.env(), timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"hotspotd {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def start(self, role: str) -> subprocess.Popen:
        log = open(self.folder / f"{role}.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "hotspotd", "--config", str(self.config_path),
                                 "run", "--role", role], stdout=log, stderr=subprocess.STDOUT, env=self.env())
        self.procs[role] = proc
        if role == "portal":
            wait_for(lambda: http("GET", self.portal + "/healthz")[0] == 200, 60, "portal /healthz")
        parts = role.split(",")  # "admin,worker": the back office, as `hotspotd run` starts it
        if "worker" in parts:
            wait_for(lambda: "worker consuming" in self.log(role), 60, "worker start")
        if "admin" in parts:
            wait_for(lambda: http("GET", f"http://127.0.0.1:{self.admin_port}/healthz")[0] == 200, 60, "admin /healthz")
        if role == "radius":
            wait_for(lambda: "radius serving" in self.log("radius") or proc.poll() is not None, 60, "radius start")
            assert proc.poll() is None, self.log("radius")
        return proc

    def kill(self, role: str, sig: int = signal.SIGKILL) -> int:
        proc = self.procs.pop(role)
        proc.send_signal(sig)
        return proc.wait(timeout=30)

    def log(self, role: str) -> str:
        path = self.folder / f"{role}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        for role in list(self.procs):
            proc = self.procs.pop(role)
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


class AdminLogin:
    """A console login made over HTTP, as a browser on the admin's own origin holds it."""

    def __init__(self, base: str, cookie: str, csrf: str) -> None:
        self.base, self.cookie, self.csrf = base, cookie, csrf

    @property
    def origin(self) -> str:
        return self.base

    def headers(self, *, change: bool = False) -> dict[str, str]:
        headers = {"Cookie": self.cookie}
        if change:
            headers.update({"X-CSRF-Token": self.csrf, "Origin": self.origin})
        return headers

    def get(self, path: str) -> tuple[int, Any]:
        return http("GET", self.base + path, headers=self.headers())

    def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        return http("POST", self.base + path, {} if body is None else body, headers=self.headers(change=True))


def admin_login(base: str, username: str, password: str) -> tuple[int, AdminLogin | None]:
    """POST /login with JSON; returns (status, the login when it worked)."""
    request = urllib.request.Request(base + "/login", method="POST",
                                     data=json.dumps({"username": username, "password": password}).encode(),
                                     headers={"Content-Type": "application/json", "Origin": base})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            body = json.loads(response.read())
            cookie = response.headers["Set-Cookie"].split(";", 1)[0]
            return response.status, AdminLogin(base, cookie, body["csrf_token"])
    except urllib.error.HTTPError as err:
        return err.code, None
