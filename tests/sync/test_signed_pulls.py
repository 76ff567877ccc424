"""Configuration answers are signed by the receiver over the pull's nonce and their exact
bytes: a box behind someone who alters, strips or replays them applies nothing. A
plain-HTTP central is refused unless `[central] allow_insecure` says yes. The real
receiver (SQLite and PostgreSQL) answers; a proxy between it and the box plays the
attacker."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timezone

import pytest

from hotspotd import config as config_mod
from hotspotd.central import configlog
from hotspotd.central.store import Site
from hotspotd.store.models import Package, SyncState
from hotspotd.sync import protocol
from hotspotd.sync.client import CentralClient
from hotspotd.sync.passes import run_pass

from ..loopback import QuietHandler, Served

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


class Middle:
    """What the proxy does to answers from the receiver: `mode` is pass, tamper, strip or
    replay (answer every pull with the first answer it saw)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode = "pass"
        self.first_pull: tuple[bytes, dict[str, str]] | None = None
        self.pulls = 0


def proxy_for(middle: Middle) -> type[QuietHandler]:
    class Proxy(QuietHandler):
        def forward(self, method: str) -> None:
            body = self.body() if method == "POST" else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            request = urllib.request.Request(middle.upstream + self.path, data=body, method=method, headers=headers)
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            try:
                with opener.open(request, timeout=10) as response:
                    status, raw, answer_headers = response.status, response.read(), dict(response.headers)
            except urllib.error.HTTPError as err:
                status, raw, answer_headers = err.code, err.read(), dict(err.headers)
            if self.path.startswith(protocol.CONFIG_PATH) and status == 200:
                middle.pulls += 1
                if middle.first_pull is None:
                    middle.first_pull = (raw, answer_headers)
                elif middle.mode == "replay":
                    raw, answer_headers = middle.first_pull
                if middle.mode == "tamper":
                    raw = raw.replace(b'"price":60', b'"price":1')
                    assert b'"price":1' in raw
                if middle.mode == "strip":
                    answer_headers.pop(protocol.SIGNATURE_HEADER, None)
            self.send_response(status)
            for name in ("Content-Type", protocol.SIGNATURE_HEADER):
                if name in answer_headers:
                    self.send_header(name, answer_headers[name])
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self):  # noqa: N802 (http.server's name)
            self.forward("GET")

        def do_POST(self):  # noqa: N802
            self.forward("POST")

    return Proxy


@pytest.fixture
def middle(central):
    middle = Middle(central.url)
    with Served(proxy_for(middle)) as served:
        middle.url = served.url
        yield middle


def through(middle: Middle, box, config) -> CentralClient:
    config.central.url = middle.url
    return CentralClient(middle.url, box.site_id, config.central.site_key, timeout=5, allow_insecure=True)


def package_prices() -> list[int]:
    return [p.price for p in Package.select().order_by(Package.id)]


def test_the_receiver_signs_its_answer_over_the_pull_nonce(box, central, config):
    configlog.add_package(central.store, name="1 day", price=60, duration="1d", rate="3M/6M", now=NOW)
    path = f"{protocol.CONFIG_PATH}?have=0"
    headers = protocol.signed_headers(config.central.site_key, box.site_id, "GET", path, b"", datetime.now().timestamp())
    request = urllib.request.Request(central.url + path, headers=headers)
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=10) as response:
        raw, signature = response.read(), response.headers[protocol.SIGNATURE_HEADER]
    nonce = headers[protocol.NONCE_HEADER]
    key = config.central.site_key
    assert json.loads(raw)["changes"][0]["data"]["price"] == 60
    assert protocol.answer_signed(key, "GET", path, box.site_id, nonce, raw, signature)
    assert not protocol.answer_signed(key, "GET", path, box.site_id, "another-nonce", raw, signature)
    assert not protocol.answer_signed(key, "GET", path, box.site_id, nonce, raw + b" ", signature)


@pytest.mark.parametrize("mode, why", [("tamper", "not signed for this request"),
                                       ("strip", "not signed for this request")])
def test_an_altered_or_unsigned_answer_is_refused_and_nothing_applied(box, central, config, middle, mode, why):
    configlog.add_package(central.store, name="1 day", price=60, duration="1d", rate="3M/6M", now=NOW)
    middle.mode = mode
    client = through(middle, box, config)
    result = run_pass(config, client)
    client.close()
    assert middle.pulls == 1  # the answer did go through the proxy
    assert not result.ok and why in result.error
    assert Package.select().count() == 0 and SyncState.get_by_id(1).config_version == 0
    assert why in SyncState.get_by_id(1).last_error
    assert run_pass(config, box.client).ok and package_prices() == [60]  # straight to central: applied


def test_a_replayed_answer_is_refused(box, central, config, middle):
    day = configlog.add_package(central.store, name="1 day", price=60, duration="1d", rate="3M/6M", now=NOW)
    client = through(middle, box, config)
    assert run_pass(config, client).ok and package_prices() == [60]  # the first answer, genuine
    version = SyncState.get_by_id(1).config_version
    configlog.set_package(central.store, day.id, price=80, now=NOW)
    middle.mode = "replay"  # the attacker hands the box that first answer again
    result = run_pass(config, client)
    client.close()
    assert middle.pulls == 2
    assert not result.ok and "not signed for this request" in result.error
    assert package_prices() == [60] and SyncState.get_by_id(1).config_version == version
    assert run_pass(config, box.client).ok and package_prices() == [80]


def test_a_plain_http_central_is_refused_without_allow_insecure(box, central, config):
    config.central.allow_insecure = False
    warned = [w for w in config.warnings() if w.startswith(config_mod.INSECURE_CENTRAL)]
    assert warned and not config.problems()  # check-config and doctor warn; the site still sells
    seen_before = Site.get_by_id(box.site_id).last_seen_at
    client = CentralClient(central.url, box.site_id, config.central.site_key, timeout=5)
    result = run_pass(config, client)
    client.close()
    assert not result.ok and "allow_insecure" in result.error and "plain http://" in result.error
    assert Site.get_by_id(box.site_id).last_seen_at == seen_before  # nothing reached the receiver
    secure = config_mod.load(None, overrides={"central": {"url": "https://central.example.com", "site_id": "s",
                                                          "site_key": "k"}})
    assert secure.warnings() == []
    allowed = config_mod.load(None, overrides={"central": {"url": "http://10.0.0.1", "site_id": "s", "site_key": "k",
                                                           "allow_insecure": "yes"}})
    assert allowed.warnings() == []


def test_check_config_warns_about_a_plain_http_central(tmp_path, capsys):
    from hotspotd import cli

    from ..conftest import CALLBACK_TOKEN

    ini = tmp_path / "hotspotd.ini"
    site = (f"[site]\nstate_dir = {tmp_path / 'state'}\n[mpesa]\nconsumer_key = k\nconsumer_secret = s\npasskey = p\n"
            f"callback_token = {CALLBACK_TOKEN}\n[central]\nurl = http://central.example.com\nsite_id = s\n"
            "site_key = k\n")
    ini.write_text(site)
    assert cli.main(["--config", str(ini), "check-config"]) == 0  # a warning: the site runs, sync is refused
    assert f"warning: {config_mod.INSECURE_CENTRAL}" in capsys.readouterr().out
    ini.write_text(site + "allow_insecure = yes\n")
    assert cli.main(["--config", str(ini), "check-config"]) == 0
    assert "http://" not in capsys.readouterr().out
