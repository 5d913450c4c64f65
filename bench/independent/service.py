"""Issue 8 through the long-running service and `check`, as a user meets them.

- `daemon.py check` on a new config reports the missing folders without creating them, and
  fails (naming the address) when the map's port is taken by another program.
- The service watching its inbox: 3 batches of 100 photos copied in while it runs, the service
  killed with SIGKILL once a third of each batch is filed and started again each time; after a clean SIGTERM every photo is filed once
  with its record (the invariant of invariant.py).
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import time

from common import Result, Workspace, exiftool_gps, jpeg, remove_tree, sha256, tag_gps, temp_root
from faults import DATE
from http_check import Service
from invariant import Input
from invariant import check as invariant

SERVICE_TOML = '[ollama]\nenabled = false\n[viewer]\nport = 0\ntile_url = ""\n[watch]\nsettle_seconds = 0.3\n'


def check_command() -> list[Result]:
    root = temp_root("check")
    try:
        ws = Workspace(root)
        shutil.rmtree(ws.inbox)
        before = sorted(p.name for p in root.iterdir())
        done = ws.daemon("check", timeout=60)
        after = sorted(p.name for p in root.iterdir())
        out = [Result("check", "check on a new config creates nothing", done.returncode == 0 and before == after,
                      f"exit {done.returncode}; before {before}, after {after}")]
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            ws.config.write_text(f"[ollama]\nenabled = false\n[viewer]\nport = {port}\n", encoding="utf-8")
            done = ws.daemon("check", timeout=60)
        said = done.stdout + done.stderr
        out.append(Result("check", "check notices the map's port is taken", done.returncode == 1 and str(port) in said,
                          f"exit {done.returncode}: {[line for line in said.splitlines() if 'map' in line]}"))
        return out
    finally:
        remove_tree(root)


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return -9


def check_service_kill9(count: int = 300) -> list[Result]:
    root = temp_root("service")
    staging = temp_root("staging")
    try:
        ws = Workspace(root, SERVICE_TOML)
        template = jpeg(staging / "template.jpg", (90, 91, 92), (640, 480))
        tag_gps(template, 43.7696, 11.2558, DATE)
        data, gps = template.read_bytes(), exiftool_gps(template)
        sources = []
        for n in range(count):
            p = staging / f"trip{n:04d}.jpg"
            p.write_bytes(data + n.to_bytes(4, "big"))
            sources.append(p)
        inputs = [Input(f"photo {n}", p.name, sha256(p), gps) for n, p in enumerate(sources)]
        library = root / "library"

        def filed() -> int:
            return sum(1 for _ in library.rglob("*.jpg")) if library.exists() else 0

        kills = []
        running = Service(ws)
        batch = count // 3
        for start in range(0, count, batch):  # a batch copied in, SIGKILL once a third of it is filed, start again
            for p in sources[start:start + batch]:
                shutil.copyfile(p, ws.inbox / p.name)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and filed() < start + batch // 3:
                time.sleep(0.005)
            kills.append(filed())
            running.proc.kill()
            running.proc.wait()
            running = Service(ws)
        second = running
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status, body = second.request("GET", "/api/images?fields=id,status")
            rows = json.loads(body) if status == 200 else []
            rows = rows.get("images", rows) if isinstance(rows, dict) else rows
            if not ws.inbox_left() and len(rows) >= count:
                break
            time.sleep(0.25)
        code = stop(second.proc)
        out = invariant("service", ws, inputs)
        bad = [r for r in out if not r.ok]
        summary = Result("service", f"service killed with SIGKILL {len(kills)} times (at {kills} of {count} filed), restarted, stopped with SIGTERM",
                         not bad and code == 0, f"SIGTERM exit {code}; {len(bad)} problem(s)")
        return [summary, *bad[:10]]
    finally:
        remove_tree(root)
        remove_tree(staging)


def check() -> list[Result]:
    return [*check_command(), *check_service_kill9()]

