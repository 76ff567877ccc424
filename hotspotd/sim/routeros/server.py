"""The simulator's TCP front: the RouterOS API on loopback, one thread per connection.

It logs in with the post-6.43 plain method (docs/protocols.md §1.5) and can be told to misbehave
the ways real routers do: refuse connections (nothing listens), accept and stay silent,
answer slowly, drop the connection in the middle of a reply, refuse the login, and answer
like RouterOS 6 or 7 (`!empty` from 7.18 on, as the simulator's RouterOS 7 is 7.18.2:
docs/protocols.md §1.4); and the way a rogue one could: answer a command
with a reply that never ends (`flood`: endless sentences, one endless sentence, or one
word whose announced length is huge), until the client hangs up.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time

from .ppp import CoaListener, PppServer
from .radius import RadiusClient
from .router import Router
from .wire import Reader, WireError, encode_sentence, encode_word

log = logging.getLogger(__name__)


class RouterOSSimulator:
    """A simulated MikroTik. Use as a context manager, or `start()` / `stop()`."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, username: str = "admin", password: str = "",
                 version: int = 7, nas_ip: str | None = None, tls: ssl.SSLContext | None = None,
                 coa_port: int = 0) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.tls = tls
        self.radius = RadiusClient(nas_ip or host)
        self.router = Router(version=version, radius_login=self.radius)
        self.ppp = self.router.ppp = PppServer(self.router, nas_ip or host)  # CPEs dial: self.ppp.dial(...)
        self.coa_port = coa_port  # /radius incoming: Disconnect-Requests (0: a free port, known after start)
        self.coa: CoaListener | None = None
        self.delay = 0.0  # seconds added before every reply
        self.silent = False  # accept connections, read, never answer
        self.drop_replies = 0  # the next N replies stop half way and the connection is closed
        self.flood: str | None = None  # after login: "sentences" | "words" | "word" (see _flood)
        self.flooded = 0  # bytes sent by floods, for tests
        self.opened = 0  # connections accepted
        self.logins = 0  # successful logins
        self.open_connections = 0
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._clients: set[socket.socket] = set()
        self._lock = threading.Lock()

    # -- lifecycle

    def start(self) -> RouterOSSimulator:
        self._listen()
        self.coa = CoaListener(self.router, self.host, self.coa_port).start()
        self.coa_port = self.coa.port
        return self

    def __enter__(self) -> RouterOSSimulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        self._close_listener()
        if self.coa is not None:
            self.coa.stop()
            self.coa = None
        with self._lock:
            for sock in list(self._clients):
                _close(sock)

    @property
    def version(self) -> int:
        return self.router.version

    @version.setter
    def version(self, value: int) -> None:
        self.router.version = value

    def refuse(self, refusing: bool = True) -> None:
        """Stop listening (connections are refused), or listen again on the same port."""
        if refusing:
            self._close_listener()
            with self._lock:
                for sock in list(self._clients):
                    _close(sock)
        elif self._listener is None:
            self._listen()

    # -- serving

    def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(128)
        self.port = sock.getsockname()[1]
        self._listener = sock
        threading.Thread(target=self._accept, args=(sock,), name=f"routeros-sim-{self.port}", daemon=True).start()

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self.opened += 1
                self.open_connections += 1
                self._clients.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            reader, logged_in = Reader(conn), False
            while not self._stopping.is_set():
                words = reader.sentence()
                if self.silent:
                    continue
                if self.delay:
                    time.sleep(self.delay)
                if not logged_in:
                    replies, logged_in = self._login(words)
                    if replies is None:
                        conn.sendall(encode_sentence(["!fatal", "not logged in"]))
                        return
                elif words[0] == "/quit":
                    conn.sendall(encode_sentence(["!fatal", "session terminated on request"]))
                    return
                elif self.flood:
                    self._flood(conn)
                    return
                else:
                    replies = self.router.execute(words)
                data = b"".join(encode_sentence(s) for s in replies)
                if self.drop_replies > 0:
                    self.drop_replies -= 1
                    conn.sendall(data[: max(1, len(data) // 2)])
                    return
                conn.sendall(data)
        except (EOFError, OSError, WireError, ssl.SSLError):
            return
        finally:
            with self._lock:
                self.open_connections -= 1
                self._clients.discard(conn)
            _close(conn)

    def _flood(self, conn: socket.socket) -> None:
        """A reply that never ends: `sentences` (endless `!re`), `words` (one `!re` whose
        words never end), `word` (a word announced as 0xFFFFFFF bytes, then bytes forever)."""
        if self.flood == "sentences":
            chunk = b"".join(encode_sentence(["!re", f"=.id=*{n:X}", f"=name=flood{n}", "=comment=" + "x" * 40])
                             for n in range(1000))
        elif self.flood == "words":
            conn.sendall(encode_word("!re"))
            chunk = b"".join(encode_word(f"=w{n}=" + "y" * 60) for n in range(1000))
        else:
            conn.sendall(encode_word("!re") + b"\xef\xff\xff\xff")  # a 268435455-byte word follows
            chunk = b"z" * 65536
        while not self._stopping.is_set():
            conn.sendall(chunk)
            with self._lock:
                self.flooded += len(chunk)

    def _login(self, words: list[str]) -> tuple[list[list[str]] | None, bool]:
        if words[0] != "/login":
            return None, False
        attrs = dict(w[1:].partition("=")[::2] for w in words[1:] if w.startswith("="))
        if attrs.get("name") == self.username and attrs.get("password", "") == self.password:
            with self._lock:
                self.logins += 1
            return [["!done"]], True
        return [["!trap", "=message=invalid user name or password (6)"], ["!done"]], False


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
