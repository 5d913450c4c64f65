"""Test configurations: temp folders under one root, small settle times, no AI and no map unless
a test asks. `make_config` builds a Config in-process; `write_config` writes the same as the
config.toml a daemon subprocess reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from geolocator.config import Config, build_config
from geolocator.core import Core
from geolocator.record.store import Store

SETTLE = 0.5  # seconds a file must stay quiet: small, so tests run fast


def settings(*, ai: bool | str = False, settle: float = SETTLE, **sections: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Config data: `ai` False (off), True (on, default host) or the URL of a (fake) Ollama;
    each keyword section ({"viewer": {"port": 0}}) is merged over these defaults."""
    match ai:
        case bool():
            ollama: dict[str, Any] = {"enabled": ai}
        case str():
            ollama = {"enabled": True, "host": ai, "timeout": 5.0}
    data: dict[str, dict[str, Any]] = {"watch": {"settle_seconds": settle}, "ollama": ollama, "viewer": {"enabled": False}}
    for section, values in sections.items():
        data[section] = {**data.get(section, {}), **values}
    return data


def make_config(root: Path, **options: Any) -> Config:
    """A Config whose folders (inbox, library, failed, duplicates, database) are under `root`."""
    return build_config(settings(**options), root, None)


def write_config(path: Path, **options: Any) -> Path:
    """The same settings as a TOML file at `path`; relative folders resolve beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_toml(settings(**options)))
    return path


def to_toml(data: dict[str, dict[str, Any]]) -> str:
    """Tables of plain values as TOML. Hand-written: no TOML writer is among the dependencies, and
    JSON's strings, numbers and lists are valid TOML values."""
    lines = []
    for section, values in data.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {'true' if value is True else 'false' if value is False else json.dumps(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def core_on(store: Store, root: Path, **options: Any) -> Core:
    """The process's Core over an open `store`, with a config under `root` (see `settings`)."""
    return Core.build(make_config(root, **options), store)
