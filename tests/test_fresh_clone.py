"""The commands the README shows, run as written from a fresh clone: `python3 daemon.py ...` with the
system's Python, which lacks the dependencies, and the `.venv` that `make` made. daemon.py runs
itself again with the project's `.venv/bin/python`; nothing needs activating first."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from processes import daemon_env

REPO = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = Path("/usr/bin/python3")
GPS_PHOTO = "exif-samples/jpg/gps/DSCN0010.jpg"


def lacks_the_dependencies(python: Path) -> bool:
    return python.exists() and subprocess.run([str(python), "-c", "import tinydb"], capture_output=True).returncode != 0


pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not lacks_the_dependencies(SYSTEM_PYTHON), reason="needs a system python3 without the project's dependencies"),
    pytest.mark.skipif(shutil.which("git") is None or not (REPO / ".git").exists() or not (REPO / ".venv").exists(),
                       reason="needs git, a git checkout and its .venv"),
]


def readme_commands() -> list[str]:
    """The command lines of the README's Commands section."""
    section = (REPO / "README.md").read_text().split("## Commands", 1)[1].split("\n## ", 1)[0]
    return [line.strip().removeprefix("$ ").split("  #")[0].strip() for line in section.splitlines() if line.startswith("    ") and "daemon.py" in line]


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A fresh clone of this checkout, with the .venv `make` would have made there."""
    where = tmp_path_factory.mktemp("fresh") / "geolocator"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(where)], check=True, capture_output=True)
    (where / ".venv").symlink_to((REPO / ".venv").resolve(), target_is_directory=True)
    return where


def as_written(clone: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python3 daemon.py ARGS` as the README writes it, with the system's python3 first on PATH."""
    env = {k: v for k, v in daemon_env(PATH=f"{SYSTEM_PYTHON.parent}:/bin").items() if k != "VIRTUAL_ENV" and not k.startswith("PYENV")}
    return subprocess.run(["python3", str(clone / "daemon.py"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_readme_shows_each_command_as_python3_daemon_py():
    commands = readme_commands()
    assert len(commands) >= 6, commands  # one line per command, and the example
    assert all(re.match(r"python3 daemon\.py( |$)", c) for c in commands), commands


def test_the_commands_work_from_a_fresh_clone_with_the_systems_python(clone, tmp_path, corpus):
    work = tmp_path / "work"
    work.mkdir()
    (work / "config.toml").write_text('[ollama]\nenabled = false\n[viewer]\nport = 0\n')
    checked = as_written(clone, "check", "--config", "config.toml", cwd=work)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ModuleNotFoundError" not in checked.stderr and checked.stdout.count("ok   ") == 9, checked.stdout
    located = as_written(clone, "locate", "--no-ai", str(corpus / GPS_PHOTO), cwd=work)
    assert located.returncode == 0 and '"source": "exif"' in located.stdout, located.stderr
    (work / "inbox").mkdir()
    shutil.copy(corpus / GPS_PHOTO, work / "inbox" / "DSCN0010.jpg")
    scanned = as_written(clone, "scan", "--config", "config.toml", cwd=work)
    assert scanned.returncode == 0, scanned.stderr
    assert list((work / "library").rglob("DSCN0010.jpg")), scanned.stderr
    helped = as_written(clone, "--help", cwd=work)
    assert helped.returncode == 0 and "usage: daemon.py" in helped.stdout


def test_a_refused_start_from_a_fresh_clone_leaves_nothing_behind(clone, tmp_path):
    (tmp_path / "config.toml").write_text('[ollama]\nenabled = false\n[viewer]\nhost = "0.0.0.0"\nport = 0\n')
    checked = as_written(clone, "check", "--config", "config.toml", cwd=tmp_path)
    assert checked.returncode == 1 and "FAIL password: none set, and the map is served beyond this machine" in checked.stdout
    run = as_written(clone, "run", "--config", "config.toml", cwd=tmp_path)
    assert run.returncode == 2 and "needs a password" in run.stderr, run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]  # no folder, no database, no lock file
