"""Answers: JSON (compact, never cached, gzipped when the client accepts it and it is worth it), and
files through `bottle.static_file`."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import bottle

from viewer.rows import to_json

GZIP_MIN = 1024


def send_json(data: Any = None, *, raw: bytes | None = None, gz: bytes | None = None, content_type: str = "application/json") -> bytes:
    """`data` as JSON, or an already encoded `raw` body (with its gzipped form `gz` when known)."""
    body = raw if raw is not None else to_json(data)
    bottle.response.content_type = content_type
    bottle.response.set_header("Cache-Control", "no-store")
    bottle.response.set_header("Vary", "Accept-Encoding")
    if len(body) >= GZIP_MIN and "gzip" in bottle.request.get_header("Accept-Encoding", ""):
        bottle.response.set_header("Content-Encoding", "gzip")
        return gz if gz is not None else gzip.compress(body, compresslevel=5)
    return body


def send_file(filename: str, root: Path, not_found: str, **options: Any) -> bottle.HTTPResponse:
    """`bottle.static_file`, which owns path containment; its 403 for a path outside `root` (or an
    unreadable file) becomes a 404 saying `not_found`, so nothing tells what lies outside."""
    response = bottle.static_file(filename, root=str(root), **options)
    if response.status_code == 403:
        raise bottle.HTTPError(404, not_found)
    return response
