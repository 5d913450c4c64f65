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
    listed = set(re.findall(r"^    python3? daemon\.py \[?(\w+)", section("Commands"), re.M))
    parser = build_parser()
    subparsers = next(action for action in parser._actions if action.dest == "command")  # argparse keeps them here
    assert listed == set(subparsers.choices), "README's Commands section and daemon.py's subcommands differ"


def test_every_file_the_readme_cites_exists():
    cited = set(re.findall(r"`((?:tests|bench|scripts|systemd|viewer|geolocator|docs)/[\w./-]+|test_\w+\.py)`", README))
    cited |= set(re.findall(r"\]\(((?:docs)/[\w./-]+)\)", README))
    missing = [name for name in sorted(cited) if not ((REPO / name).exists() or (REPO / "tests" / name).exists())]
    assert not missing, f"README cites files that do not exist: {missing}"


def development_map() -> set[Path]:
    """The files and folders the README's Development map names: an indented tree in which a
    line's first column holds one or more names (", " between them), folders ending in "/"."""
    text = section("Development")
    block = [line for line in text.splitlines() if line.startswith("    ") and line.strip()]
    named: set[Path] = set()
    parents: list[tuple[int, Path]] = []
    for line in block:
        depth = len(line) - len(line.lstrip(" "))
        column = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
        names = [name.strip() for name in column.split(", ")]
        if not all(re.fullmatch(r"[\w-]+\.\w+|[\w./-]+/", name) for name in names):
            continue  # a continued description (names are files with an extension, or folders ending in "/")
        while parents and parents[-1][0] >= depth:
            parents.pop()
        base = parents[-1][1] if parents else REPO
        for name in names:
            named.add(base / name.rstrip("/"))
            if name.endswith("/") and len(names) == 1:
                parents.append((depth, base / name.rstrip("/")))
    return named


def test_the_development_map_matches_the_tree():
    named = development_map()
    missing = sorted(str(p.relative_to(REPO)) for p in named if not p.exists())
    assert not missing, f"the README's Development map names what is not there: {missing}"
    modules = {p for folder in ("geolocator", "viewer") for p in (REPO / folder).rglob("*.py") if "__pycache__" not in p.parts}
    unmapped = sorted(str(p.relative_to(REPO)) for p in modules - named)
    assert not unmapped, f"modules the README's Development map does not name: {unmapped}"
