"""Exceptions that carry a user-facing message.

Every module raises one of these for conditions a user can act on; `geolocator.cli`
is the one place that turns them into messages and exit codes.
"""

from __future__ import annotations


class GeolocatorError(Exception):
    """Base class: `str(error)` is a one-line message fit to show a user."""

    exit_code = 1


class ConfigError(GeolocatorError):
    """The configuration file is wrong (unknown key, wrong type, unreadable)."""

    exit_code = 2


class UnreadableImage(GeolocatorError):
    """The file is corrupt, truncated or of a type we cannot read."""


class AIUnavailable(GeolocatorError):
    """Ollama cannot answer now (down, busy, timed out, 5xx): try again later.

    Never means "this photo has no location".
    """


class OllamaUnreachable(AIUnavailable):
    """Nothing answers at the Ollama server's address (connection refused, no route): it is not running there."""


class ModelMissing(AIUnavailable):
    """The configured model is not installed or cannot see images; the message names the fix."""
