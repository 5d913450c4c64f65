"""`GET /thumb/<id>` (a JPEG made once and cached), `GET /image/<id>` (the file itself, from
library/, failed/ or duplicates/ by the record's status) and `GET /preview/<id>` (what the photo
viewer shows: the file itself when every browser draws it, else a large JPEG made once on the server
by the bounded decoder, for HEIC, AVIF, TIFF and raw files). Anything that is not a known image or
video type is sent as an attachment, never rendered on our origin. `static_file` answers Range
requests, so a video can be played and sought."""

from __future__ import annotations

import re
from pathlib import Path

import bottle

from viewer.context import Context
from viewer.respond import send_file
from viewer.routes import route
from viewer.thumbnails import Thumbnails

# Served inline from /image/<id>; anything else is sent as an attachment (never as HTML/JS/SVG).
INLINE_TYPES = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
    ".webp": "image/webp", ".avif": "image/avif", ".bmp": "image/bmp", ".tif": "image/tiff",
    ".tiff": "image/tiff", ".heic": "image/heic", ".heif": "image/heif",
    ".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime",
}
# What the viewer may show as it is; every other image gets a JPEG preview.
BROWSER_TYPES = {".jpg", ".jpeg", ".png", ".gif", ".webp"}
VIDEO_TYPES = {".mp4", ".m4v", ".mov"}
PREVIEW_PX = 2048
PREVIEW_QUALITY = 85


NO_FILE = "no file for this photo"


def _made(maker: Thumbnails, record_id: str, source: Path, what: str) -> bottle.HTTPResponse:
    """The JPEG `maker` made (once) of `source`, or 404 saying there is no `what`."""
    made = maker.get(record_id, source)
    if made is None:
        raise bottle.HTTPError(404, f"no {what} for this file")
    response = send_file(made.name, made.parent, NO_FILE, mimetype="image/jpeg")
    response.set_header("Cache-Control", "max-age=86400, immutable")  # keyed by content hash
    return response


def install(app: bottle.Bottle, ctx: Context) -> None:
    previews = Thumbnails(ctx.folders.thumbnails / "previews", PREVIEW_PX, PREVIEW_QUALITY)

    @route(app, "GET", "/thumb/<rid>")
    def thumb(rid: str) -> bottle.HTTPResponse:
        record, root, rel = ctx.file_or_404(rid)
        return _made(ctx.thumbs, record.id, root / rel, "thumbnail")

    @route(app, "GET", "/preview/<rid>")
    def preview(rid: str) -> bottle.HTTPResponse:
        record, root, rel = ctx.file_or_404(rid)
        suffix = rel.suffix.lower()
        if suffix in BROWSER_TYPES:
            return send_file(str(rel), root, NO_FILE, mimetype=INLINE_TYPES[suffix])
        if suffix in VIDEO_TYPES:
            raise bottle.HTTPError(404, "a video has no still preview: play /image/")
        return _made(previews, record.id, root / rel, "preview")

    @route(app, "GET", "/image/<rid>")
    def image(rid: str) -> bottle.HTTPResponse:
        record, root, rel = ctx.file_or_404(rid)
        mimetype = INLINE_TYPES.get(rel.suffix.lower())
        if mimetype is None:  # not a known image type: never let the browser render it on our origin
            download = re.sub(r"[^\w.\- ]", "_", record.name) or True
            return send_file(str(rel), root, NO_FILE, mimetype="application/octet-stream", download=download)
        return send_file(str(rel), root, NO_FILE, mimetype=mimetype)
