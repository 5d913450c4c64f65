"""`GET /`: the page, rendered once per app; `GET /static/<path>`: its scripts, styles and vendored libraries."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import bottle

from viewer.context import Context
from viewer.respond import send_file
from viewer.routes import route
from viewer.rows import MAP_COLUMNS

HERE = Path(__file__).resolve().parent.parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
OUTLINE = STATIC / "vendor" / "world" / "countries-110m.geojson"


def _rounded(value: object) -> object:
    return [_rounded(v) for v in value] if isinstance(value, list) else round(value, 2) if isinstance(value, float) else value


@cache  # a quarter of a second of rounding, for a vendored file that does not change
def outline_json(path: Path = OUTLINE) -> str:
    """The world outline as the page carries it (sketch.js draws it before any other script has
    run): the countries' shapes without their properties, to 0.01°, safe inside a script element."""
    world = json.loads(path.read_text(encoding="utf-8"))
    features = [{"type": "Feature", "properties": {}, "geometry": {"type": f["geometry"]["type"], "coordinates": _rounded(f["geometry"]["coordinates"])}}
                for f in world["features"]]
    return json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":")).replace("</", "<\\/")


def install(app: bottle.Bottle, ctx: Context) -> None:
    page: str = bottle.SimpleTemplate(name="index", lookup=[str(TEMPLATES)]).render(
        token=ctx.token,
        tile_url=ctx.config.viewer.tile_url,
        tile_attribution=ctx.config.viewer.tile_attribution,
        columns=",".join(MAP_COLUMNS),
        outline=outline_json(),
        in_place=not ctx.folders.move,  # an archive indexed in place: its count of files gone missing
    )

    @route(app, "GET", "/")
    def index() -> str:
        bottle.response.set_header("Cache-Control", "no-store")
        return page

    @route(app, "GET", "/static/<path:path>", public=True)  # the login page needs them too
    def static(path: str) -> bottle.HTTPResponse:
        response = send_file(path, STATIC, "not found")
        if response.status_code == 200:
            response.set_header("Cache-Control", "max-age=3600" if path.startswith("vendor/") else "no-cache")
        return response
