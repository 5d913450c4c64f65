"""Photos from the page.

- `POST /api/upload`  multipart, parts named `file`: each file into the inbox, filed like any photo
  dropped there. Answers `{"files": [{"sent_as", "saved_as", "id", "size", "error", "known"}]}`; `id` is
  the record the photo will get, for the page to follow it; `known`, whether that record exists already.
- `POST /api/locate`  the same body: answers exactly what `daemon.py locate` prints for each file
  (JSON lines) and keeps nothing: the files live in a private temporary folder while they are read.

Both need the page's token and a same-origin Origin (the guard), and are refused from their
headers over `[viewer] max_upload_mb`; on a full disk they answer 507 Insufficient Storage and
keep nothing of the file in progress. The body is read here, from `wsgi.input` (see
`viewer.incoming`): bottle's `request.body` would spool it to a temporary file first. When the map
starts, the temporary files of uploads a crash cut off are handed to the inbox (`recover_temps`).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import bottle

from geolocator.locations.from_file import Estimator, json_line, located_file
from viewer.context import Context
from viewer.incoming import DiskFull, Received, UploadError, receive, recover_temps, safe_name, temp_is_ignored
from viewer.respond import send_json
from viewer.routes import route

log = logging.getLogger(__name__)

MB = 1024 * 1024


def _received(folder: Path, **options: Any) -> list[Received]:
    """The request's file parts, received into `folder` (see `incoming.receive`); 400 when none."""
    environ = bottle.request.environ
    try:
        files = receive(environ["wsgi.input"], int(environ.get("CONTENT_LENGTH") or 0), environ.get("CONTENT_TYPE", ""), folder, **options)
    except UploadError as exc:
        log.info("upload not taken: %s", exc)  # one line: nothing of it is kept
        raise bottle.HTTPError(400, str(exc)) from None
    except DiskFull as exc:
        log.error("upload refused: %s", exc)
        raise bottle.HTTPError(507, str(exc)) from None
    if not files:
        raise bottle.HTTPError(400, "no file: send one or more parts named 'file'")
    return files


def install(app: bottle.Bottle, ctx: Context) -> None:
    limit = ctx.config.viewer.max_upload_mb * MB
    inbox = ctx.folders.inbox
    ignore = ctx.config.watch.ignore
    try:  # no upload runs yet: a temporary file in the inbox is a crash's leftover
        recover_temps(inbox)
    except (OSError, UploadError) as exc:  # the map still serves; they wait for the next start
        log.error("cannot hand the uploads a crash cut off to the inbox: %s", exc)

    @route(app, "POST", "/api/upload", max_body=limit)
    def upload() -> bytes:
        if not temp_is_ignored(ignore):
            raise bottle.HTTPError(409, "uploads need the inbox to ignore '.*' or '*.part' files: add one to [watch] ignore")
        inbox.mkdir(parents=True, exist_ok=True)
        files = _received(inbox, ignore=ignore)
        for f in files:
            log.info("upload %s: %s", f.saved_as or f.sent_as, f.error or f"{f.size} bytes into the inbox")
        known = {f.id: ctx.store.get(f.id) is not None for f in files if f.id}
        return send_json({"files": [_shown(f, known.get(f.id or "", False)) for f in files]})

    @route(app, "POST", "/api/locate", max_body=limit)
    def locate() -> bytes:
        ai: Estimator | None = None
        if ctx.config.ollama.enabled:
            from geolocator.locate.ai import AILocator  # the ollama client loads only when it is used

            ai = AILocator(ctx.config.ollama)
        with tempfile.TemporaryDirectory(prefix="geolocator-locate-") as folder:
            lines = []
            for number, f in enumerate(_received(Path(folder), keep=False)):
                given = safe_name(f.sent_as)
                # Each file alone in its own folder, under the name it was sent with (its suffix tells the format).
                own = Path(folder) / str(number)
                own.mkdir()
                path = own / given
                os.rename(Path(folder) / str(f.saved_as), path)
                lines.append(json_line(located_file(given, path, ai, ctx.core.describe)))
        bottle.response.content_type = "application/x-ndjson; charset=utf-8"
        bottle.response.set_header("Cache-Control", "no-store")
        return "".join(lines).encode()


def _shown(f: Received, known: bool) -> dict[str, Any]:
    return {"sent_as": f.sent_as, "saved_as": f.saved_as, "id": f.id, "size": f.size, "error": f.error, "known": known}
