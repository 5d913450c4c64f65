"""The import graph reads top-down: no module imports one from a layer above its own, and no
modules import each other in a circle, in Python (geolocator/, viewer/; imports inside functions
count too) and in the page's ES modules (viewer/static/js). One definition each of what a
photo's location is made of."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Lowest first: a module may import its own layer and those below, never one above. The longest
# prefix that matches a module decides its layer.
LAYERS: list[tuple[str, ...]] = [
    ("geolocator", "geolocator.errors", "geolocator.logs", "geolocator.fileio", "geolocator.auth", "geolocator.commands.notify", "geolocator.config", "geolocator.auth.password_file"),
    ("geolocator.record", "geolocator.folders"),  # what is stored, where files live, the events at a record's boundaries
    ("geolocator.locate",),  # LOCATE: metadata, tracks, place names
    ("geolocator.media", "geolocator.locate.ai", "geolocator.move"),  # decoding pictures, the model, never-overwrite moves
    ("geolocator.locations", "geolocator.move.in_place"),  # the one owner of every change of location; the in-place index, which keeps our sidecars beside renamed photos
    ("geolocator.watch",),
    ("geolocator.core",),  # one per process: the parts above wired together
    ("geolocator.pipeline",),
    ("viewer",),  # VIEW: the page over the Core
    ("geolocator.service",),
    ("geolocator.commands",),
    ("geolocator.cli",),
]


def python_modules() -> dict[str, Path]:
    found = {}
    for path in [*sorted((REPO / "geolocator").rglob("*.py")), *sorted((REPO / "viewer").rglob("*.py"))]:
        name = ".".join(path.relative_to(REPO).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def python_imports(modules: Mapping[str, Path]) -> dict[str, set[str]]:
    """Each module's imports of our modules, at any depth of its code."""
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                deps.update(f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module for alias in node.names)
            elif isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names)
        edges[name] = {dep for dep in deps if dep in modules and dep != name}
    return edges


def layer(module: str) -> int:
    ranked = [(len(prefix), rank) for rank, prefixes in enumerate(LAYERS) for prefix in prefixes if module == prefix or module.startswith(prefix + ".")]
    assert ranked, f"{module} is in no layer: add it to LAYERS"
    return max(ranked)[1]


def cycles(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_python_module_imports_from_a_layer_above_its_own():
    edges = python_imports(python_modules())
    upward = [f"{a} (layer {layer(a)}) imports {b} (layer {layer(b)})" for a, deps in sorted(edges.items()) for b in sorted(deps) if layer(b) > layer(a)]
    assert upward == []


def test_no_python_modules_import_each_other_in_a_circle():
    assert cycles(python_imports(python_modules())) == []


JS_IMPORT = re.compile(r"""(?:^\s*import\s+(?:[^'";]*?\s+from\s+)?|import\(\s*|new URL\(\s*)['"]\./([\w-]+\.js)['"]""", re.M)


def test_no_page_modules_import_each_other_in_a_circle():
    scripts = sorted((REPO / "viewer" / "static" / "js").glob("*.js"))
    edges = {path.name: set(JS_IMPORT.findall(path.read_text())) for path in scripts}
    assert edges["main.js"] >= {"map.js", "popup.js", "place.js"}  # the pattern reads this code's imports
    assert cycles(edges) == []


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def definitions(pattern: str) -> list[str]:
    """The places in our Python code that match `pattern` (a definition's first line)."""
    hits = []
    for path in [*(REPO / "geolocator").rglob("*.py"), *(REPO / "viewer").rglob("*.py")]:
        hits += [f"{path.relative_to(REPO)}:{n}" for n, line in enumerate(path.read_text().splitlines(), 1) if re.search(pattern, line)]
    return hits


def test_one_definition_each_of_the_status_set_the_location_fields_and_the_ranking_rule():
    assert definitions(r"frozenset\(\{Status\.LOCATED, Status\.UNLOCATED, Status\.PENDING\}\)") == ["geolocator/record/__init__.py:" + _line("geolocator/record/__init__.py", "PLACEABLE = ")]
    # The ten location fields: declared by `Location` (PhotoRecord, LocationChange and AIEstimate inherit
    # them), listed once from it, never by hand.
    assert len(definitions(r"^class Location\b")) == 1 and len(definitions(r"^LOCATION_FIELDS = tuple\(f\.name for f in dataclasses\.fields\(Location\)\)")) == 1
    assert definitions(r"LOCATION_FIELDS = \(|\"lat\", \"lon\", \"altitude\"|\"country_code\", \"confidence\"") == []
    assert definitions(r"RANK(: dict\[Source, int\])? = ") == ["geolocator/locations/ranking.py:" + _line("geolocator/locations/ranking.py", "RANK: ")]
    assert len(definitions(r"^def may_change\(")) == 1 and len(definitions(r"^def relocated\(")) == 1  # the one rule, the one writer


def _line(file: str, start: str) -> str:
    lines = (REPO / file).read_text().splitlines()
    return str(next(n for n, line in enumerate(lines, 1) if line.startswith(start)))
