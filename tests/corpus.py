"""Where the shared corpus of real camera and phone files lies (exiftool's reading of them is the
ground truth): $GEOLOCATOR_CORPUS when set, else `shared/corpus` beside the checkout, else
/work/shared/corpus, so a clone made elsewhere on this machine (CI's, say) finds it too."""

from __future__ import annotations

import os
from pathlib import Path

_BESIDE_CHECKOUT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
_ON_THIS_MACHINE = Path("/work/shared/corpus")


def find_corpus() -> Path:
    chosen = os.environ.get("GEOLOCATOR_CORPUS")
    if chosen:
        return Path(chosen)
    return next((p for p in (_BESIDE_CHECKOUT, _ON_THIS_MACHINE) if p.is_dir()), _BESIDE_CHECKOUT)


CORPUS = find_corpus()
