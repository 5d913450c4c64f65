#!/usr/bin/env python3
"""`daemon.py locate --no-ai`, whole process, beside exiftool reading the same files.

    .venv/bin/python bench/locate_speed.py [--files N] [--repeats R]

One photo: the wall time of `daemon.py locate --no-ai PHOTO` (Python start-up, imports, opening
the place index, reading, naming the place) against `exiftool -n -j -GPSLatitude -GPSLongitude
PHOTO`; target: ours ≤ 2.5× exiftool's. Measured twice: warm (best of R, as after any run), and
the first `locate` after the set-up a fresh clone gets (`make places`: compiled modules and the
place index built into an empty cache; best of R clones). A batch: N photos (900 by default) in one `locate`
process against one exiftool process reading an argfile; target: ours ≥ 10× faster. Two
batches: copies of the corpus JPEGs that carry GPS (taken in towns), and the same JPEGs with GPS
written at points spread over the globe (`worldwide.py`: half at sea, some in Antarctica, near
the poles and on the antimeridian). Runs interleaved (ours, exiftool's, ours, ...), best of R
each, page cache warm, the place index and Python's module cache built beforehand (as after the
first run ever; see `installed_env`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from pyenv import installed_env  # noqa: E402
from worldwide import worldwide_points, write_photos  # noqa: E402

from tests.corpus import CORPUS as CORPUS_ROOT  # noqa: E402

CORPUS = CORPUS_ROOT
SINGLE_TARGET = 2.5  # ours / exiftool's, at most
BATCH_TARGET = 10.0  # exiftool's / ours, at least


def gps_jpegs() -> list[Path]:
    truth = json.loads((CORPUS / "exif-samples.truth.json").read_text())
    return [CORPUS / item["file"] for item in truth if item["lat"] is not None and item["type"] == "JPEG"]


def wall(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=REPO, env=env)
    return time.perf_counter() - start, done.stdout


def best_interleaved(runs: dict[str, tuple[list[str], dict[str, str] | None]], repeats: int) -> dict[str, tuple[float, str]]:
    """Each command once per round, `repeats` rounds (the CPU is shared: a burst of someone
    else's work hits both sides alike); the best wall time of each, with its output."""
    best: dict[str, tuple[float, str]] = {}
    for _ in range(repeats):
        for name, (argv, env) in runs.items():
            seconds, out = wall(argv, env)
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, out)
    return best


def set_up(env: dict[str, str], build: bool) -> float:
    """What `make places` does in a fresh clone: compile the modules, build the place index. Seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "compileall", "-q", "geolocator", "daemon.py"], check=True, cwd=REPO, env=env, capture_output=True)
    if build:
        subprocess.run([sys.executable, "-m", "geolocator.locate.places.cache"], check=True, cwd=REPO, env=env, capture_output=True)
    return time.perf_counter() - start


def first_after_set_up(work: Path, locate: list[str], photo: str, repeats: int) -> tuple[float, float]:
    """The set-up's seconds, and the best wall time of the first `locate` after it: `repeats`
    fresh clones on a machine with Python installed (the libraries compiled, our modules not,
    until the set-up compiles them), sharing one place index that the first set-up builds into an
    empty cache."""
    setup_s, first_s = 0.0, float("inf")
    for attempt in range(repeats):
        fresh_pycache = work / f"fresh-pycache{attempt}"
        shutil.copytree(work / "pycache", fresh_pycache)
        shutil.rmtree(fresh_pycache / REPO.relative_to(REPO.anchor))
        fresh = installed_env(fresh_pycache) | {"GEOLOCATOR_CACHE": str(work / "fresh-cache")}
        seconds = set_up(fresh, build=attempt == 0)
        setup_s = setup_s or seconds
        first_s = min(first_s, wall([*locate, photo], fresh)[0])
    return setup_s, first_s


def batch_line(label: str, ours: tuple[float, str], theirs: tuple[float, str], count: int) -> bool:
    (ours_s, out), (theirs_s, their_out) = ours, theirs
    placed = sum(json.loads(row)["place"] is not None for row in out.splitlines())
    their_located = sum(isinstance(item.get("GPSLatitude"), (int, float)) for item in json.loads(their_out))
    print(f"{count} photos {label}, one process: {placed} placed by us, {their_located} located by exiftool")
    print(
        f"  locate --no-ai {ours_s:7.3f} s    exiftool {theirs_s:7.3f} s    exiftool/ours {theirs_s / ours_s:5.2f}× (target ≥ {BATCH_TARGET}×); {ours_s / count * 1e6:.0f} µs per photo"
    )
    return theirs_s / ours_s >= BATCH_TARGET and placed == count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=900)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("exiftool") is None:
        print("exiftool is not installed (apt-get install libimage-exiftool-perl)")
        return 2
    sources = gps_jpegs()
    locate = [sys.executable, str(REPO / "daemon.py"), "locate", "--no-ai"]
    exiftool = ["exiftool", "-n", "-j", "-q", "-GPSLatitude", "-GPSLongitude"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = []
        for i in range(args.files):
            source = sources[i % len(sources)]
            target = work / "towns" / f"{i:04d}_{source.name}"
            target.parent.mkdir(exist_ok=True)
            shutil.copyfile(source, target)
            files.append(target)
        anywhere = write_photos(work / "anywhere", sources, worldwide_points(args.files))
        argfiles = {}
        for name, paths in (("towns", files), ("anywhere", anywhere)):
            argfiles[name] = work / f"{name}.args"
            argfiles[name].write_text("".join(f"{path}\n" for path in paths))

        one = str(files[0])
        env = installed_env(work / "pycache")
        subprocess.run([*locate, one], capture_output=True, check=True, cwd=REPO, env=env)  # builds the place index (and the module cache) if missing

        setup_s, first_s = first_after_set_up(work, locate, one, args.repeats)
        for path in files + anywhere:
            path.read_bytes()  # page cache warm for both

        best = best_interleaved(
            {
                "ours_one": ([*locate, one], env),
                "theirs_one": ([*exiftool, one], None),
                "ours_towns": ([*locate, *map(str, files)], env),
                "theirs_towns": ([*exiftool, "-@", str(argfiles["towns"])], None),
                "ours_anywhere": ([*locate, *map(str, anywhere)], env),
                "theirs_anywhere": ([*exiftool, "-@", str(argfiles["anywhere"])], None),
            },
            args.repeats,
        )
    (ours_one, line), (theirs_one, _) = best["ours_one"], best["theirs_one"]
    print(f"one photo ({Path(one).name[5:]}): {json.loads(line)['place']}")
    print(f"  locate --no-ai {ours_one * 1000:7.1f} ms   exiftool {theirs_one * 1000:7.1f} ms   ours/exiftool {ours_one / theirs_one:5.2f}× (target ≤ {SINGLE_TARGET}×)")
    print(f"  the first locate after the set-up (make places: {setup_s:.1f} s), best of {args.repeats} fresh clones:")
    print(f"  locate --no-ai {first_s * 1000:7.1f} ms   ours/exiftool {first_s / theirs_one:5.2f}× (target ≤ {SINGLE_TARGET}×)")
    ok = ours_one / theirs_one <= SINGLE_TARGET and first_s / theirs_one <= SINGLE_TARGET
    ok = batch_line("taken in towns (the corpus)", best["ours_towns"], best["theirs_towns"], args.files) and ok
    ok = batch_line("spread over the globe (half at sea)", best["ours_anywhere"], best["theirs_anywhere"], args.files) and ok
    print("targets met" if ok else "TARGETS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
