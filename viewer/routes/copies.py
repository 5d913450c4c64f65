"""Copies on the page: one filed as a duplicate of its original.

- `POST /api/images/<id>/file-as-duplicate`  move a photo placed as the copy of another into
  duplicates/ (geolocator.move.refile, by the intents' rules: never overwriting, resumed after a
  crash); answers {"records": [...], "rows": [...], "counts": {...}} as the placing routes do.
  Keeping both is the default and needs no request.
"""

from __future__ import annotations

import logging

import bottle

from geolocator.move.refile import NotRefiled, file_as_duplicate
from viewer.context import Context
from viewer.routes import route
from viewer.routes.place import answer

log = logging.getLogger(__name__)


def file_copy_as_duplicate(ctx: Context, rid: str) -> bytes:
    record = ctx.record_or_404(rid)
    since = ctx.store.seq
    try:
        stored = file_as_duplicate(ctx.store, ctx.folders, ctx.core.intents, record.id)
    except NotRefiled as exc:
        raise bottle.HTTPError(409, str(exc)) from None
    log.info("%s (%s) filed as a duplicate of %s by hand: %s", stored.id, stored.name, stored.duplicate_of, stored.path)
    return answer(ctx, [stored], since)


def install(app: bottle.Bottle, ctx: Context) -> None:
    @route(app, "POST", "/api/images/<rid>/file-as-duplicate")
    def api_file_as_duplicate(rid: str) -> bytes:
        return file_copy_as_duplicate(ctx, rid)
