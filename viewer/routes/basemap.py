"""`GET /api/labels?bbox=west,south,east,north&zoom=Z`: the names the offline basemap draws in a view.

{"labels": [{"name", "lat", "lon", "kind": "country" | "region" | "town", "population"}, ...]}, at
most MAX_LABELS, most important first. The label index is made from the gazetteer on first use.
"""

from __future__ import annotations

import functools
import logging
import threading

import bottle

from geolocator.locate.places import gazetteer
from viewer.basemap.labels import LabelIndex, parse_view
from viewer.context import Context
from viewer.respond import send_json
from viewer.routes import route

log = logging.getLogger(__name__)

MAX_LABELS = 200
_making = threading.Lock()


@functools.cache
def label_index() -> LabelIndex:
    with _making:  # two first requests at once make it once
        return LabelIndex(gazetteer())


def install(app: bottle.Bottle, ctx: Context) -> None:
    @route(app, "GET", "/api/labels")
    def api_labels() -> bytes:
        query = bottle.request.query
        try:
            view = parse_view(query.get("bbox", ""), query.get("zoom", ""))
        except ValueError as err:
            raise bottle.HTTPError(400, str(err)) from None
        try:
            index = label_index()
        except OSError:  # the place index could not be built or opened: the map shows no names
            log.exception("the place index is not available")
            return send_json({"labels": []})
        bottle.response.set_header("Cache-Control", "max-age=3600")  # the same view, the same names
        return send_json({"labels": [label.as_json() for label in index.labels(view, MAX_LABELS)]})
