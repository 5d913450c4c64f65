"""README.md says what the code does: its settings table, its commands and the tests it cites."""

from __future__ import annotations

import re
from pathlib import Path

from geolocator.cli import build_parser
from geolocator.config import SETTINGS

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def section(title: str) -> str:
    """The README text under `## title`, up to the next `## ` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.S | re.M)
    if match is None:
        raise AssertionError(f"README has no '## {title}' section")
    return match.group(1)


def test_the_configuration_table_lists_every_setting_and_no_other():
    rows = {m.group(1): set(re.findall(r"`(\w+)`", m.group(2))) for m in re.finditer(r"^\| `\[(\w+)\]` \| (.*) \|$", section("Configuration"), re.M)}
    assert set(rows) == set(SETTINGS), "one row per config section"
    for name, settings in SETTINGS.items():
        keys = {setting.name for setting in settings}
        assert keys <= rows[name], f"[{name}] keys missing from the README table: {sorted(keys - rows[name])}"


def test_the_commands_listed_are_the_daemons_commands():
    listed = set(re.findall(r"^    python daemon\.py \[?(\w+)", section("Commands"), re.M))
    parser = build_parser()
    subparsers = next(action for action in parser._actions if action.dest == "command")  # argparse keeps them here
    assert listed == set(subparsers.choices), "README's Commands section and daemon.py's subcommands differ"


def test_every_file_the_readme_cites_exists():
    cited = set(re.findall(r"`((?:tests|bench|scripts|systemd|viewer|geolocator|docs)/[\w./-]+|test_\w+\.py)`", README))
    cited |= set(re.findall(r"\]\(((?:docs)/[\w./-]+)\)", README))
    missing = [name for name in sorted(cited) if not ((REPO / name).exists() or (REPO / "tests" / name).exists())]
    assert not missing, f"README cites files that do not exist: {missing}"
