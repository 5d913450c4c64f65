"""The map viewer: a Bottle app over the record store.

`create_app(store, config)` builds a fresh `bottle.Bottle` (no module-level app, no default_app).

Routes
- `GET /`                          the page (Leaflet + markercluster, vendored under /static/vendor)
- `GET /api/map[?since=SEQ]`       compact rows for the page: one array per photo, gzipped.
                                   With `since`, only the rows changed after that store seq.
- `GET /api/images[?fields=a,b][&status=s]`  every record as a JSON object (documented form)
- `GET /api/images/<id>`           one full record, plus its thumbnail and image URLs
- `GET /api/images.geojson`        FeatureCollection of the located photos
- `GET /thumb/<id>`                JPEG thumbnail, made once and cached beside the database
- `GET /image/<id>`                the file itself, from library/, failed/ or duplicates/
- `POST /api/images/<id>/location` manual fix: JSON {"lat", "lon"}; needs the page's token

Safety: ids must match ^[0-9a-f]{16}$ and a file must resolve inside its root, else 404; every
response carries a strict Content-Security-Policy; POSTs need the per-app token in the
X-Geolocator-Token header and a same-origin (or absent) Origin; the Host header must name a
loopback/bound host, or on a wildcard bind this machine's name or an IP literal (DNS-rebinding guard).
"""

from __future__ import annotations

import dataclasses
import gzip
import hmac
import ipaddress
import json
import logging
import math
import re
import secrets
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import bottle

from geolocator.config import Config
from geolocator.folders import Folders
from geolocator.record import PhotoRecord, Source, Status
from geolocator.store import Store
from viewer.thumbnails import Thumbnails

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"

ID_RE = re.compile(r"^[0-9a-f]{16}$")
TOKEN_HEADER = "X-Geolocator-Token"
GZIP_MIN = 1024
MAX_BODY = 4096  # a manual fix is a few dozen bytes of JSON
# Columns of /api/map rows, in order. The page reads them by name from "columns".
MAP_COLUMNS = ("id", "status", "source", "lat", "lon", "date", "name", "radius_km", "error")
# Served inline from /image/<id>; anything else is sent as an attachment (never as HTML/JS/SVG).
INLINE_TYPES = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
    ".webp": "image/webp", ".avif": "image/avif", ".bmp": "image/bmp", ".tif": "image/tiff",
    ".tiff": "image/tiff", ".heic": "image/heic", ".heif": "image/heif",
}
WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}
RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(PhotoRecord))


def tile_origin(tile_url: str) -> str | None:
    """The CSP source for a tile URL template: scheme://host[:port], `{s}` subdomains as `*`."""
    if not tile_url:
        return None
    parts = urlsplit(tile_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    netloc = re.sub(r"\{[a-z]+\}", "*", parts.netloc)
    if "*" in netloc and not netloc.startswith("*."):
        netloc = "*." + netloc.split(".", 1)[-1]  # CSP allows a wildcard only as the first label
    return f"{parts.scheme}://{netloc}"


def content_security_policy(tile_url: str) -> str:
    tiles = tile_origin(tile_url)
    img = "'self' data:" + (f" {tiles}" if tiles else "")  # data: Leaflet's blank tile
    return "; ".join((
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src {img}",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ))


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def map_row(r: PhotoRecord) -> list[Any]:
    located = r.status is Status.LOCATED
    return [
        r.id,
        r.status.value,
        r.source.value if r.source else None,
        _round(r.lat) if located else None,
        _round(r.lon) if located else None,
        r.taken_at[:10] if r.taken_at else None,
        r.name,
        _round(r.radius_km, 2) if located and r.source is Source.AI else None,
        None if located else r.error,
    ]


def _counts(records: list[PhotoRecord]) -> dict[str, int]:
    counts = {status.value: 0 for status in Status}
    counts.update({f"located_{source.value}": 0 for source in Source})
    for r in records:
        counts[r.status.value] += 1
        if r.status is Status.LOCATED and r.source:
            counts[f"located_{r.source.value}"] += 1
    return counts


def _feature(r: PhotoRecord) -> dict[str, Any]:
    props = {k: getattr(r, k) for k in ("name", "place", "taken_at", "camera", "confidence", "radius_km", "description", "model")}
    props["source"] = r.source.value if r.source else None
    props["thumb"] = f"/thumb/{r.id}"
    props["image"] = f"/image/{r.id}"
    return {"type": "Feature", "id": r.id, "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]}, "properties": props}


class _SeqCache:
    """One encoded body per store seq: 100k rows are serialised once, not once per request."""

    def __init__(self, build: Callable[[list[PhotoRecord], int], Any]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._key: int | None = None
        self._value: tuple[bytes, bytes] | None = None

    def get(self, store: Store) -> tuple[bytes, bytes]:
        with self._lock:
            if self._key != store.seq or self._value is None:
                records, seq = store.changed_since(-1)  # everything, with the seq it matches, atomically
                body = json.dumps(self._build(records, seq), separators=(",", ":"), ensure_ascii=False).encode()
                self._key, self._value = seq, (body, gzip.compress(body, compresslevel=5))
            return self._value


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def create_app(store: Store, config: Config) -> bottle.Bottle:
    app = bottle.Bottle()
    folders = Folders.from_config(config)
    thumbs = Thumbnails(folders.thumbnails)
    token = secrets.token_urlsafe(32)
    instance = secrets.token_hex(8)  # changes on restart: tells the page its seq is from another run
    csp = content_security_policy(config.viewer.tile_url)
    bound = config.viewer.host.strip().lower()
    # Host names a request may carry. Bound to every interface, a page is also reached by this
    # machine's own names or an IP literal; any other name is a DNS-rebinding page's.
    allowed_hosts = {"localhost", "127.0.0.1", "::1", bound.strip("[]")}
    if bound in WILDCARD_HOSTS:
        allowed_hosts |= {socket.gethostname().lower(), socket.getfqdn().lower(), socket.gethostname().lower() + ".local"}
    app.config["geolocator.token"] = token

    # -- every response ----------------------------------------------------------------------
    def secure_headers() -> None:
        bottle.response.set_header("Content-Security-Policy", csp)
        bottle.response.set_header("X-Content-Type-Options", "nosniff")
        bottle.response.set_header("Referrer-Policy", "no-referrer")
        bottle.response.set_header("X-Frame-Options", "DENY")
        bottle.response.set_header("Cross-Origin-Resource-Policy", "same-origin")

    @app.hook("before_request")
    def check_host() -> None:
        host = bottle.request.environ.get("HTTP_HOST", "")
        try:
            name = (urlsplit("//" + host).hostname or "").lower()
        except ValueError:
            name = ""
        if name not in allowed_hosts and not (bound in WILDCARD_HOSTS and _is_ip(name)):
            raise bottle.HTTPError(421, "unknown host")  # a DNS-rebinding page, or a misdirected request

    app.add_hook("after_request", secure_headers)

    def on_error(error: bottle.HTTPError) -> str:
        secure_headers()
        bottle.response.content_type = "application/json"
        message = error.body if isinstance(error.body, str) else ""
        if message.startswith("Not found"):  # the router's 404 quotes the path: never echo it
            message = "not found"
        return json.dumps({"error": message or error.status_line})

    for code in (400, 403, 404, 405, 409, 413, 416, 421, 500):
        app.error(code)(on_error)

    # -- helpers -----------------------------------------------------------------------------
    def send_json(data: Any = None, *, raw: bytes | None = None, gz: bytes | None = None) -> bytes:
        body = raw if raw is not None else json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        bottle.response.content_type = "application/json"
        bottle.response.set_header("Cache-Control", "no-store")
        bottle.response.set_header("Vary", "Accept-Encoding")
        if len(body) >= GZIP_MIN and "gzip" in bottle.request.get_header("Accept-Encoding", ""):
            bottle.response.set_header("Content-Encoding", "gzip")
            return gz if gz is not None else gzip.compress(body, compresslevel=5)
        return body

    def record_or_404(rid: str) -> PhotoRecord:
        record = store.get(rid) if ID_RE.match(rid) else None
        if record is None:
            raise bottle.HTTPError(404, "no such photo")
        return record

    def file_or_404(rid: str) -> tuple[PhotoRecord, Path, Path]:
        """The record, its folder and its file's path relative to it; 404 when any is missing."""
        record = record_or_404(rid)
        located = file_of(record)
        if located is None:
            raise bottle.HTTPError(404, "no file for this photo")
        return record, *located

    def file_of(record: PhotoRecord) -> tuple[Path, Path] | None:
        """(root, path relative to it) of the record's file, only if it resolves inside the root."""
        if not record.path:
            return None
        root = folders.root(record.status).resolve()
        try:
            full = (root / record.path).resolve()
        except (OSError, ValueError):
            return None
        if not full.is_relative_to(root) or not full.is_file():
            return None
        return root, full.relative_to(root)

    map_cache = _SeqCache(lambda records, seq: {
        "instance": instance, "seq": seq, "full": True, "counts": _counts(records),
        "columns": MAP_COLUMNS, "rows": [map_row(r) for r in records],
    })
    geojson_cache = _SeqCache(lambda records, seq: {
        "type": "FeatureCollection",
        "features": [_feature(r) for r in records if r.status is Status.LOCATED and r.lat is not None and r.lon is not None],
    })
    template = bottle.SimpleTemplate(name="index", lookup=[str(TEMPLATES)])
    page = template.render(
        token=token,
        tile_url=config.viewer.tile_url,
        tile_attribution=config.viewer.tile_attribution,
        columns=",".join(MAP_COLUMNS),
    )

    # -- page and static files ---------------------------------------------------------------
    @app.get("/")
    def index() -> str:
        bottle.response.set_header("Cache-Control", "no-store")
        return page

    @app.get("/static/<path:path>")
    def static(path: str) -> bottle.HTTPResponse:
        response = bottle.static_file(path, root=str(STATIC))
        if response.status_code == 403:  # bottle's answer to a path outside the root
            raise bottle.HTTPError(404, "not found")
        if response.status_code == 200:
            response.set_header("Cache-Control", "max-age=3600" if path.startswith("vendor/") else "no-cache")
        return response

    # -- API ---------------------------------------------------------------------------------
    @app.get("/api/map")
    def api_map() -> bytes:
        since = bottle.request.query.get("since")
        if since is None:
            raw, gz = map_cache.get(store)
            return send_json(raw=raw, gz=gz)
        try:
            since_seq = int(since)
        except ValueError:
            raise bottle.HTTPError(400, "since must be an integer") from None
        if bottle.request.query.get("instance") not in (None, instance) or since_seq > store.seq:
            raw, gz = map_cache.get(store)  # the store was reopened: the page's seq means nothing here
            return send_json(raw=raw, gz=gz)
        changed, seq = store.changed_since(since_seq)
        return send_json({
            "instance": instance, "seq": seq, "full": False, "counts": _counts(store.all()) if changed else None,
            "columns": MAP_COLUMNS, "rows": [map_row(r) for r in changed],
        })

    @app.get("/api/images")
    def api_images() -> bytes:
        fields = [f for f in bottle.request.query.get("fields", "").split(",") if f] or list(RECORD_FIELDS)
        unknown = [f for f in fields if f not in RECORD_FIELDS]
        if unknown:
            raise bottle.HTTPError(400, f"unknown fields: {', '.join(unknown)}")
        status = bottle.request.query.get("status")
        if status is not None and status not in {s.value for s in Status}:
            raise bottle.HTTPError(400, "unknown status")
        records = store.all()
        out = []
        for r in records:
            if status is None or r.status.value == status:
                d = r.to_dict()
                out.append({f: d[f] for f in fields})
        return send_json(out)

    @app.get("/api/images.geojson")
    def api_geojson() -> bytes:
        raw, gz = geojson_cache.get(store)
        body = send_json(raw=raw, gz=gz)
        bottle.response.content_type = "application/geo+json"
        return body

    @app.get("/api/images/<rid>")
    def api_image(rid: str) -> bytes:
        record = record_or_404(rid)
        data = record.to_dict()
        data["thumb_url"] = f"/thumb/{record.id}"
        data["image_url"] = f"/image/{record.id}"
        data["has_file"] = file_of(record) is not None
        return send_json(data)

    @app.post("/api/images/<rid>/location")
    def api_fix_location(rid: str) -> bytes:
        request = bottle.request
        sent = request.get_header(TOKEN_HEADER, "")
        if not hmac.compare_digest(sent.encode(), token.encode()):
            raise bottle.HTTPError(403, "missing or wrong token")
        origin = request.get_header("Origin")
        if origin is not None and origin != f"{request.urlparts.scheme}://{request.get_header('Host', '')}":
            raise bottle.HTTPError(403, "cross-origin request")
        record = record_or_404(rid)
        if record.status in (Status.FAILED, Status.DUPLICATE):
            raise bottle.HTTPError(409, f"a {record.status.value} photo cannot be placed")
        raw = request.body.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            raise bottle.HTTPError(413, f"body larger than {MAX_BODY} bytes")
        try:
            body = json.loads(raw or b"null")
        except (ValueError, RecursionError):
            raise bottle.HTTPError(400, "body must be JSON") from None
        lat, lon = (body.get("lat"), body.get("lon")) if isinstance(body, dict) else (None, None)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (lat, lon)):
            raise bottle.HTTPError(400, "lat and lon must be numbers")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise bottle.HTTPError(400, "lat must be within -90..90 and lon within -180..180")
        lat, lon = float(lat), float(lon)
        try:
            from geolocator.places import describe

            place = describe(lat, lon)
        except Exception:  # the place name is a nicety; the point is what matters
            log.exception("no place name for %s, %s", lat, lon)
            place = None
        def fix(current: PhotoRecord | None) -> PhotoRecord | None:  # applied under the store's lock
            if current is None or current.status in (Status.FAILED, Status.DUPLICATE):
                return None
            return dataclasses.replace(
                current, status=Status.LOCATED, source=Source.MANUAL, lat=lat, lon=lon, place=place,
                confidence=None, radius_km=None, error=None, retry_at=None,
            )

        stored = store.update(record.id, fix)
        if stored is None or stored.source is not Source.MANUAL:
            raise bottle.HTTPError(409, "the photo changed meanwhile: reload and try again")
        log.info("manual location for %s (%s): %.6f, %.6f", stored.id, stored.name, lat, lon)
        return send_json(stored.to_dict())

    # -- files -------------------------------------------------------------------------------
    @app.get("/thumb/<rid>")
    def thumb(rid: str) -> bottle.HTTPResponse:
        record, root, rel = file_or_404(rid)
        made = thumbs.get(record.id, root / rel)
        if made is None:
            raise bottle.HTTPError(404, "no thumbnail for this file")
        response = bottle.static_file(made.name, root=str(thumbs.folder), mimetype="image/jpeg")
        response.set_header("Cache-Control", "max-age=86400, immutable")  # keyed by content hash
        return response

    @app.get("/image/<rid>")
    def image(rid: str) -> bottle.HTTPResponse:
        record, root, rel = file_or_404(rid)
        mimetype = INLINE_TYPES.get(rel.suffix.lower())
        if mimetype is None:  # not a known image type: never let the browser render it on our origin
            return bottle.static_file(str(rel), root=str(root), mimetype="application/octet-stream", download=re.sub(r"[^\w.\- ]", "_", record.name) or True)
        return bottle.static_file(str(rel), root=str(root), mimetype=mimetype)

    return app
