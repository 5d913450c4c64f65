"""The routes, grouped by what they serve: `page` (the HTML and its static files), `api` (JSON),
`files` (thumbnails and the photos themselves), `search` (place search, the list's details),
`uploads` (photos sent from the page), `place` (placing by hand, history, asking the AI again),
`copies` (a copy filed as a duplicate), `login` (the password), `tracks` (GPS tracks as lines),
`clock` (a camera's clock), `basemap` (the basemap's names), `ai` (what the AI is doing, "Retry
all now"). Each module's `install(app, ctx)` adds its
routes (`login`'s also takes the password's `Access`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import bottle

Handler = TypeVar("Handler", bound=Callable[..., Any])


def route(app: bottle.Bottle, method: str, path: str, **config: Any) -> Callable[[Handler], Handler]:
    """`@route(app, "GET", "/x")`: Bottle's `app.route`, typed (`config` reaches the plugins, e.g. `max_body`)."""

    def register(handler: Handler) -> Handler:
        app.route(path, method, handler, **config)
        return handler

    return register
