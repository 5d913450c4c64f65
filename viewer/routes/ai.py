"""What the AI is doing, for the page's header, and "Retry all now".

- `GET /api/ai`         {"enabled", "running", "model", "config", "servers": [{"name", "state", "since",
  "reason", "fix", "paused_for"}]}: each Ollama server as the AI worker sees it (`AIWorker.state`):
  ready, asking, down since when, its model missing, busy or failing; with the fix for a person to
  apply. `running` false: no worker in this process (`daemon.py map` alone): the service asks.
- `POST /api/ai/retry`  every photo waiting for Ollama is due now and every server's pause ends:
  answers {"resumed", "rows", "counts", "ai"} (the rows of the photos made due)
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import bottle

from geolocator.config import Config
from geolocator.locations.ai_queue import ServerState, ServerStatus, resume_waiting
from viewer.context import Context
from viewer.respond import send_json
from viewer.routes import route
from viewer.rows import counts, map_row

WITHOUT_AI = "or set [ollama] enabled = false"  # for whoever has no Ollama: photos without GPS then stay unlocated


def fix_for(state: ServerState, config: Config) -> str | None:
    """What a person can do about a server in `state`, or None when nothing is wrong."""
    where = f" in {config.source}" if config.source else " in a config file given with --config"
    without = f"{WITHOUT_AI}{where} to go without the AI"
    match state:
        case ServerState.DOWN:
            return f"start Ollama: systemctl start ollama (or ollama serve; or fix [ollama] host), {without}"
        case ServerState.MODEL_MISSING:
            return f"install the model: ollama pull {config.ollama.model}, {without}"
        case ServerState.FAILING:
            return f"it is asked again by itself; if this goes on, see Ollama's log (journalctl -u ollama), {without}"
    return None


def describe(config: Config, servers: list[ServerStatus] | None) -> dict[str, Any]:
    """The page's view of the AI: `servers` from the worker, None when no worker runs in this process."""
    out: dict[str, Any] = {"enabled": config.ollama.enabled, "running": servers is not None, "model": config.ollama.model, "servers": []}
    for server in servers or []:
        out["servers"].append({**asdict(server), "state": server.state.value, "fix": fix_for(server.state, config), "paused_for": round(server.paused_for)})
    return out


def retry_all(ctx: Context) -> bytes:
    if not ctx.config.ollama.enabled:
        raise bottle.HTTPError(409, "the AI is turned off ([ollama] enabled = false)")
    resumed = resume_waiting(ctx.store)
    ctx.wake_ai()
    return send_json({
        "resumed": len(resumed), "rows": [map_row(r, ctx.names) for r in resumed], "counts": counts(ctx.store.all()),
        "ai": describe(ctx.config, ctx.ai.state() if ctx.ai else None),
    })  # fmt: skip


def install(app: bottle.Bottle, ctx: Context) -> None:
    @route(app, "GET", "/api/ai")
    def ai_state() -> bytes:
        bottle.response.set_header("Cache-Control", "no-store")
        return send_json(describe(ctx.config, ctx.ai.state() if ctx.ai else None))

    @route(app, "POST", "/api/ai/retry")
    def ai_retry() -> bytes:
        return retry_all(ctx)
