"""`GET /`: the page, rendered once per app; `GET /static/<path>`: its scripts, styles and vendored libraries."""

from __future__ import annotations

from pathlib import Path

import bottle

from viewer.context import Context
from viewer.respond import send_file
from viewer.routes import route
from viewer.rows import MAP_COLUMNS

HERE = Path(__file__).resolve().parent.parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"


def install(app: bottle.Bottle, ctx: Context) -> None:
    page: str = bottle.SimpleTemplate(name="index", lookup=[str(TEMPLATES)]).render(
        token=ctx.token,
        tile_url=ctx.config.viewer.tile_url,
        tile_attribution=ctx.config.viewer.tile_attribution,
        columns=",".join(MAP_COLUMNS),
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
