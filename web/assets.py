"""Static files served small and cached: read once, gzip-compressed once, addressed by a
versioned URL (`/static/portal.js?v=<hash>`) that browsers may keep for a year."""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import bottle

STATIC = Path(__file__).parent / "static"
YEAR = 365 * 86400


@dataclass(frozen=True)
class Asset:
    name: str
    body: bytes
    gzipped: bytes
    version: str
    content_type: str

    @property
    def url(self) -> str:
        return f"/static/{self.name}?v={self.version}"


def load(name: str) -> Asset:
    body = (STATIC / name).read_bytes()
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
        kind += "; charset=utf-8"
    return Asset(name, body, gzip.compress(body, 9, mtime=0), hashlib.sha256(body).hexdigest()[:12], kind)


class Assets:
    """Some files of web/static, each on its own route before the generic /static/ one."""

    def __init__(self, *names: str) -> None:
        self.files = {name: load(name) for name in names}

    def url(self, name: str) -> str:
        return self.files[name].url

    def install(self, app: bottle.Bottle) -> None:
        for asset in self.files.values():
            app.route(f"/static/{asset.name}", "GET", _server(asset), name=f"asset:{asset.name}")


def _server(asset: Asset):
    etag = f'"{asset.version}"'

    def serve() -> bytes:
        response = bottle.response
        response.content_type = asset.content_type
        response.set_header("ETag", etag)
        response.set_header("Vary", "Accept-Encoding")
        versioned = bottle.request.query.get("v") == asset.version
        response.set_header("Cache-Control", f"public, max-age={YEAR}, immutable" if versioned
                            else "public, max-age=3600")
        if bottle.request.get_header("If-None-Match") == etag:
            response.status = 304
            return b""
        if "gzip" in bottle.request.get_header("Accept-Encoding", ""):
            response.set_header("Content-Encoding", "gzip")
            return asset.gzipped
        return asset.body

    return serve
