"""The box's HTTP client (hotspotd/plumbing/httpclient.py) against real servers on loopback: kept
connections, a server that closed one, no answer in time, refused connections, a certificate
it must not trust, and many threads sharing one session."""

from __future__ import annotations

import base64
import json
import socket
import ssl
import subprocess
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hotspotd.plumbing import httpclient
from hotspotd.plumbing.httpclient import RequestException, Session, Timeout
from tests.loopback import QuietHandler, Served, free_port, wait_for


class Server(Served):
    """An HTTP/1.1 server that echoes what it got and counts the connections it accepted."""

    def __init__(self, tls: ssl.SSLContext | None = None, idle_close: bool = False) -> None:
        self.connections = 0
        self.closed = 0
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                server.connections += 1
                super().setup()

            def answer(self, status: int = 200) -> None:
                seen = {"method": self.command, "path": self.path, "body": self.body().decode(),
                        "headers": {k.lower(): v for k, v in self.headers.items()}}
                server.requests.append(seen)
                size = int(self.path.partition("size=")[2] or 0)
                if idle_close:
                    self.close_connection = True  # but without saying so: a kept connection goes stale
                self.reply(b"x" * size if size else seen, status)

            def do_GET(self) -> None:
                self.answer(418 if self.path == "/teapot" else 200)

            def do_POST(self) -> None:
                self.answer()

        class Httpd(ThreadingHTTPServer):
            def shutdown_request(self, request: Any) -> None:
                super().shutdown_request(request)
                server.closed += 1  # after the socket is closed

        super().__init__(Handler, tls=tls, server_class=Httpd)


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def test_json_body_basic_auth_and_the_answer(server):
    with Session() as session:
        answer = session.post(server.url + "/pay?x=1", json={"amount": 10}, auth=("key", "secret"), timeout=5)
    assert answer.status_code == 200 and answer.reason == "OK"
    seen = answer.json()
    assert seen["method"] == "POST" and seen["path"] == "/pay?x=1" and json.loads(seen["body"]) == {"amount": 10}
    assert seen["headers"]["content-type"] == "application/json"
    assert seen["headers"]["authorization"] == "Basic " + base64.b64encode(b"key:secret").decode()
    assert seen["headers"]["user-agent"].startswith("hotspotd/")


def test_any_status_is_an_answer_and_a_body_that_is_not_json_is_a_value_error(server):
    with Session() as session:
        assert session.get(server.url + "/teapot", timeout=5).status_code == 418
        answer = session.get(server.url + "/?size=3", timeout=5)
    assert answer.text == "xxx"
    with pytest.raises(ValueError):
        answer.json()


def test_one_connection_serves_many_requests(server):
    with Session() as session:
        for _ in range(5):
            assert session.get(server.url + "/", timeout=5).status_code == 200
        session.post(server.url + "/", data=b"raw", timeout=5)
    assert server.connections == 1 and server.requests[-1]["body"] == "raw"


def test_a_connection_the_server_closed_while_idle_is_not_used_again():
    server = Server(idle_close=True)
    try:
        with Session() as session:
            for done, method in enumerate(("GET", "POST", "GET"), 1):
                assert session.request(method, server.url + "/", timeout=5).status_code == 200
                wait_for(lambda: server.closed == done, 10, "the server to close the connection")
        assert len(server.requests) == 3 and server.connections == 3
    finally:
        server.close()


def test_many_threads_share_one_session(server):
    errors: list[BaseException] = []
    with Session() as session:
        def work(n: int) -> None:
            try:
                for i in range(20):
                    answer = session.post(server.url + "/", json={"n": n, "i": i}, timeout=10)
                    assert json.loads(answer.json()["body"]) == {"n": n, "i": i}
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert not errors and len(server.requests) == 160
    assert server.connections <= 8


def test_nothing_listening_is_a_request_exception_not_a_timeout():
    with Session() as session, pytest.raises(RequestException) as raised:
        session.get(f"http://127.0.0.1:{free_port()}/", timeout=5)
    assert not isinstance(raised.value, Timeout) and "Refused" in str(raised.value)


def test_a_server_that_never_answers_is_a_timeout():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)  # accepts (the kernel does) and never says a word
    try:
        started = time.monotonic()
        with Session() as session, pytest.raises(Timeout):
            session.post(f"http://127.0.0.1:{listener.getsockname()[1]}/", json={}, timeout=(2, 0.5))
        assert time.monotonic() - started < 5
    finally:
        listener.close()


def test_an_answer_too_big_is_refused(server, monkeypatch):
    monkeypatch.setattr(httpclient, "MAX_BODY", 1000)
    with Session() as session:
        assert len(session.get(server.url + "/?size=1000", timeout=5).content) == 1000
        with pytest.raises(RequestException):
            session.get(server.url + "/?size=1001", timeout=5)


def test_not_an_http_url_says_so_without_repeating_it():
    with Session() as session, pytest.raises(RequestException) as raised:
        session.get("ftp://bot123:SECRET@example.invalid/", timeout=5)
    assert "SECRET" not in str(raised.value)


def test_a_certificate_nobody_vouches_for_is_refused(tmp_path: Path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server = Server(tls=tls)
    try:
        with Session() as session, pytest.raises(RequestException) as raised:
            session.get(server.url + "/", timeout=5)
        assert "Certificate" in str(raised.value) or "SSL" in str(raised.value)
        assert server.requests == []
    finally:
        server.close()
