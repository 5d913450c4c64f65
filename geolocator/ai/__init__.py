"""Where a photo without GPS was taken, estimated by a local Ollama vision model.

`AILocator(config.ollama).estimate(path) -> AIEstimate`; `AILocator.check() -> str`.
Modules: `imageprep` (what is sent), `prompt` (what is asked), `answer` (what is believed,
pure), `client` (the Ollama edge and its error mapping).
"""

from geolocator.ai.client import AILocator

__all__ = ["AILocator"]
