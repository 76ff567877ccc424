"""Each browser a device of its own on the network: a small SOCKS5 proxy per browser that
opens its connections from the device's own loopback address (127.x.y.z), so the portal
sees each phone's request come from that phone's address, as it does at a real hotspot
where the router routes (does not proxy) customers to the box.

Chromium speaks SOCKS5 to it (`--proxy-server=socks5://...`, loopback not bypassed); the
proxy only does CONNECT (RFC 1928, no authentication) and then copies bytes both ways.
"""

from __future__ import annotations

import ipaddress
import select
import socket
import struct
import threading


class SourceProxy:
    """A SOCKS5 proxy whose upstream connections come from `source` (changeable between pages)."""

    def __init__(self, source: str = "127.0.0.1") -> None:
        self._source = source
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        threading.Thread(target=self._accept, name="socks-accept", daemon=True).start()

    @property
    def source(self) -> str:
        return self._source

    @source.setter
    def source(self, address: str) -> None:
        """From now on the browser is the device at `address`: the connections it keeps open
        (from the address it had) are closed, so its next requests come from the new one."""
        with self._lock:
            if address == self._source:
                return
            self._source = address
            for sock in list(self._open):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    @property
    def url(self) -> str:
        return f"socks5://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._stopping.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), name="socks-client", daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = None
        try:
            client.settimeout(10)
            version, methods = _read(client, 2)
            _read(client, methods)
            client.sendall(b"\x05\x00")  # no authentication
            version, command, _, kind = _read(client, 4)
            if kind == 1:
                host = str(ipaddress.IPv4Address(bytes(_read(client, 4))))
            elif kind == 3:
                host = bytes(_read(client, _read(client, 1)[0])).decode()
            else:
                raise OSError("only IPv4 and names")
            port = struct.unpack("!H", bytes(_read(client, 2)))[0]
            if command != 1:
                raise OSError("only CONNECT")
            upstream = socket.create_connection((host, port), timeout=10, source_address=(self._source, 0))
            with self._lock:
                self._open.update((client, upstream))
            client.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("0.0.0.0") + b"\x00\x00")
            _splice(client, upstream, self._stopping)
        except (OSError, IndexError, ValueError):
            try:
                client.sendall(b"\x05\x01\x00\x01" + bytes(6))
            except OSError:
                pass
        finally:
            with self._lock:
                self._open.difference_update((client, upstream))
            client.close()
            if upstream is not None:
                upstream.close()


def _read(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


def _splice(a: socket.socket, b: socket.socket, stopping: threading.Event) -> None:
    a.settimeout(None)
    b.settimeout(None)
    peers = {a: b, b: a}
    while not stopping.is_set():
        ready, _, _ = select.select(list(peers), [], [], 1.0)
        for sock in ready:
            data = sock.recv(65536)
            if not data:
                return
            peers[sock].sendall(data)
