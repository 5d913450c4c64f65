"""The map viewer: `create_app(core)` builds a fresh `bottle.Bottle` (no module-level app).

It is assembled from small parts:
- `guard.Guard`, a Bottle plugin: security headers and CSP, the Host check, token and Origin on
  writes, body limits decided from the headers;
- `routes.page` (the HTML and static files), `routes.api` (JSON), `routes.files` (thumbnails, photos),
  `routes.search` (place search, the list's details), `routes.uploads` (photos sent from the page),
  `routes.place` (placing by hand, history, asking the AI again), `routes.login` (the password),
  `routes.tracks` (GPS tracks as lines), `routes.clock` (a camera's clock fixed), `routes.basemap` (the names the
  offline basemap draws), `routes.ai` (what the AI is doing, "Retry all now");
- `context.Context`: the process's Core and the token they share; `rows`: the shapes they send.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import bottle

from geolocator.core import Core
from viewer.context import Context
from viewer.guard import Guard, HostRule, content_security_policy
from viewer.peer import networks
from viewer.routes import ai as ai_routes
from viewer.routes import api, basemap, clock, copies, files, login, page, place, search, tracks, uploads

if TYPE_CHECKING:
    from geolocator.locations.ai_queue import AIWorker


def create_app(core: Core, *, ai: AIWorker | None = None) -> bottle.Bottle:
    """The page over the process's `core`. `ai`: the process's AI worker, whose state the page
    shows and which "Retry now" wakes. Raises ConfigError when the page would be served beyond
    this machine without a password."""
    config = core.config
    access = login.Access.for_config(config)
    ctx = Context.create(core, ai)
    app = bottle.Bottle()
    app.config["geolocator.token"] = ctx.token
    session = access.allows if access else None
    guard = Guard(ctx.token, content_security_policy(config.viewer.tile_url), HostRule(config.viewer.host), session, networks(config.viewer.trusted_proxies))
    app.install(guard)
    login.install(app, ctx, access)
    for routes in (page, api, files, search, uploads, place, copies, tracks, clock, basemap, ai_routes):
        routes.install(app, ctx)
    return app
