"""`GET /thumb/<id>` (a JPEG made once and cached) and `GET /image/<id>` (the file itself, from
library/, failed/ or duplicates/ by the record's status). Anything that is not a known image type
is sent as an attachment, never rendered on our origin."""

from __future__ import annotations

import re

import bottle

from viewer.context import Context
from viewer.routes import route

# Served inline from /image/<id>; anything else is sent as an attachment (never as HTML/JS/SVG).
INLINE_TYPES = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
    ".webp": "image/webp", ".avif": "image/avif", ".bmp": "image/bmp", ".tif": "image/tiff",
    ".tiff": "image/tiff", ".heic": "image/heic", ".heif": "image/heif",
}


def _sent(response: bottle.HTTPResponse) -> bottle.HTTPResponse:
    if response.status_code == 403:  # static_file's answer to a path outside the root
        raise bottle.HTTPError(404, "no file for this photo")
    return response


def install(app: bottle.Bottle, ctx: Context) -> None:
    @route(app, "GET", "/thumb/<rid>")
    def thumb(rid: str) -> bottle.HTTPResponse:
        record, root, rel = ctx.file_or_404(rid)
        made = ctx.thumbs.get(record.id, root / rel)
        if made is None:
            raise bottle.HTTPError(404, "no thumbnail for this file")
        response = _sent(bottle.static_file(made.name, root=str(ctx.thumbs.folder), mimetype="image/jpeg"))
        response.set_header("Cache-Control", "max-age=86400, immutable")  # keyed by content hash
        return response

    @route(app, "GET", "/image/<rid>")
    def image(rid: str) -> bottle.HTTPResponse:
        record, root, rel = ctx.file_or_404(rid)
        mimetype = INLINE_TYPES.get(rel.suffix.lower())
        if mimetype is None:  # not a known image type: never let the browser render it on our origin
            download = re.sub(r"[^\w.\- ]", "_", record.name) or True
            return _sent(bottle.static_file(str(rel), root=str(root), mimetype="application/octet-stream", download=download))
        return _sent(bottle.static_file(str(rel), root=str(root), mimetype=mimetype))
