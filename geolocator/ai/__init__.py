"""Where a photo without GPS was taken, estimated by a local Ollama vision model.

`AILocator(config.ollama).estimate(path) -> AIEstimate`; `AILocator.check() -> str`.
Modules: `imageprep` (what is sent), `prompt` (what is asked), `parse` (what was said, as a
`Parsed` value) and `judge` (what is believed), both pure; `client` (the Ollama edge and its
error mapping) and `transport` (every request bounded in time and bytes, never redirected).
"""

from geolocator.ai.client import AILocator

__all__ = ["AILocator"]
