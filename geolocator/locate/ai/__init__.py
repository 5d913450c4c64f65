"""Where a photo without GPS was taken, estimated by a local Ollama vision model.

`AILocator(config.ollama).estimate(path) -> AIEstimate`; `AILocator.check() -> str`.
Modules: `imageprep` (what is sent), `prompt` (what is asked), `parse` (what was said, as a
`Parsed` value) and `judge` (what is believed), both pure; `client` (the Ollama edge and its
error mapping), `transport` (every request bounded in time and bytes, never redirected) and
`hosts` (which of several servers takes the next photo; pure).

`AILocator` is imported on first use, so the AI worker can use `hosts` without loading the
ollama client (httpx, pydantic) where no photo needs the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geolocator.locate.ai.client import AILocator

__all__ = ["AILocator"]


def __getattr__(name: str) -> Any:
    if name == "AILocator":
        from geolocator.locate.ai.client import AILocator

        return AILocator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
