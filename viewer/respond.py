"""JSON answers: compact, never cached, gzipped when the client accepts it and it is worth it."""

from __future__ import annotations

import gzip
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
