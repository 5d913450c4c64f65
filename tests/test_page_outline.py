"""The world outline the page carries for its first picture (sketch.js): the vendored countries'
shapes to 0.01°, without their properties, and inert inside the page's script element."""

from __future__ import annotations

import json
from pathlib import Path

from viewer.routes.page import OUTLINE, outline_json


def test_the_outline_keeps_every_country_shape_rounded_and_nothing_else():
    carried = json.loads(outline_json())
    vendored = json.loads(OUTLINE.read_text(encoding="utf-8"))
    assert len(carried["features"]) == len(vendored["features"]) > 100
    fiji = carried["features"][0]["geometry"]
    assert fiji["coordinates"][0][0][0] == [178.12, -17.51]  # [178.124, -17.506] in the vendored file
    assert all(f["properties"] == {} for f in carried["features"])


def test_a_name_that_would_close_the_script_element_cannot(tmp_path: Path):
    world = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "</script><script>alert(1)</script>"},
         "geometry": {"type": "Polygon", "coordinates": [[[0.123, 1.0], [2.0, 3.0], [4.0, 5.0]]]}}]}
    path = tmp_path / "world.geojson"
    path.write_text(json.dumps(world), encoding="utf-8")
    text = outline_json(path)
    assert "</" not in text and "script" not in text
    assert json.loads(text)["features"][0]["geometry"]["coordinates"] == [[[0.12, 1.0], [2.0, 3.0], [4.0, 5.0]]]
