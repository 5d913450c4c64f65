#!/usr/bin/env python3
"""Password guessing against the real service: how many passwords get checked, and whether the
page keeps answering a logged-in user. The real process, real connections over loopback.

    .venv/bin/python bench/login_flood.py [--seconds 15] [--tree DIR]

`daemon.py --config` runs with a password (Ollama off, the map on 127.0.0.1). Then:
1. one address sends wrong passwords one after the other for `--seconds` (the issue: 150 in 15 s);
2. 100 connections from 100 loopback addresses (127.0.0.2 ...) send wrong passwords at once,
   again and again, for `--seconds`, while a logged-in user asks for /api/map, /api/images and /
   in turn; each request's time is kept.
Printed: answers by status, password checks done, the user's p50/p99/max, and the service's peak
memory (VmHWM) beyond what it had after one check. Targets: the user's p99 <= 1 s; peak memory
less than a second check's 64 MiB. `--tree` runs another checkout's daemon.py (e.g. the code
before, from `git worktree add`), with the same password (also written as a config's
password_hash, which older code reads).
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from pyenv import installed_env  # noqa: E402

PASSWORD = "the right passphrase"
GUESSERS = 100
P99_TARGET = 1.0
TIMEOUT = 30.0  # seconds a request may take before it counts as unanswered (0)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(port: int, method: str, path: str, body: bytes | None = None, source: str | None = None, **headers: str) -> tuple[int, str | None]:
    """The status (0: no answer within TIMEOUT, or the connection failed) and the Set-Cookie header."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT, source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, body=body, headers={"Host": f"127.0.0.1:{port}", **headers})
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("Set-Cookie")
    except OSError:
        return 0, None
    finally:
        conn.close()


def log_in(port: int, password: str, source: str | None = None) -> tuple[int, str | None]:
    return request(port, "POST", "/login", json.dumps({"password": password}).encode(), source, **{"Content-Type": "application/json"})


def vm_mb(pid: int, field: str) -> float:
    found = re.search(rf"^{field}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(found.group(1)) / 1024 if found else 0.0


def counts(answers: list[int]) -> str:
    return ", ".join(f"{status}: {answers.count(status)}" for status in sorted(set(answers)))


def one_address(port: int, seconds: float) -> list[int]:
    answers = []
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        answers.append(log_in(port, "a wrong guess", "127.0.0.250")[0])
    return answers


def flood(port: int, session: str, seconds: float) -> tuple[list[int], list[float]]:
    until = time.monotonic() + seconds

    def guesser(n: int) -> list[int]:
        answers = []
        while time.monotonic() < until:
            answers.append(log_in(port, f"guess {n}", f"127.0.0.{n + 2}")[0])
        return answers

    def user() -> list[float]:
        took = []
        while time.monotonic() < until:
            for path in ("/api/map", "/api/images", "/"):
                started = time.monotonic()
                status, _ = request(port, "GET", path, Cookie=session)
                took.append(time.monotonic() - started if status == 200 else float("inf"))
        return took

    with ThreadPoolExecutor(GUESSERS + 1) as pool:
        watching = pool.submit(user)
        guessing = [pool.submit(guesser, n) for n in range(GUESSERS)]
        answers = [a for f in guessing for a in f.result()]
        return answers, sorted(watching.result())


def tree_hash(tree: Path) -> str:
    """PASSWORD hashed by `tree`'s own code, with its own scrypt parameters."""
    code = f"import sys; sys.path.insert(0, {str(tree)!r}); from geolocator.auth import hash_password; print(hash_password({PASSWORD!r}))"
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip()


def ms(seconds: float) -> str:
    return "no answer" if seconds == float("inf") else f"{seconds * 1000:.0f} ms"


def run(tree: Path, seconds: float) -> bool:
    with tempfile.TemporaryDirectory(prefix="geolocator-login-flood-") as folder:
        root = Path(folder)
        port = free_port()
        encoded = tree_hash(tree)
        (root / "geolocator.password").write_text(encoded + "\n")
        (root / "geolocator.password").chmod(0o600)
        config = root / "config.toml"
        config.write_text(f'[ollama]\nenabled = false\n[viewer]\nhost = "127.0.0.1"\nport = {port}\ntile_url = ""\npassword_hash = "{encoded}"\n')
        env = installed_env(root / "pycache")
        proc = subprocess.Popen([sys.executable, str(tree / "daemon.py"), "--config", str(config)], cwd=root, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        log: list[str] = []
        try:
            assert proc.stderr is not None
            for line in proc.stderr:
                log.append(line)
                if " ready: " in line:
                    break
            else:
                raise SystemExit("the service did not start:\n" + "".join(log))
            reader = threading.Thread(target=lambda: log.extend(proc.stderr or ()), name="log")
            reader.start()
            status, cookie = log_in(port, PASSWORD)
            if status != 200 or not cookie:
                raise SystemExit(f"could not log in: {status}")
            session = cookie.split(";", 1)[0]
            after_one_check = vm_mb(proc.pid, "VmHWM")

            started = time.monotonic()
            single = one_address(port, seconds)
            print(f"{tree}: one address, wrong passwords one after the other for {time.monotonic() - started:.1f} s:")
            print(f"  {len(single)} attempts; answers {counts(single)}; passwords checked: {single.count(403)} "
                  f"({encoded.split('$')[1]})")

            answers, took = flood(port, session, seconds)
            p50, p99 = took[len(took) // 2], took[max(0, int(len(took) * 0.99) - 1)]
            grown = vm_mb(proc.pid, "VmHWM") - after_one_check
            print(f"  {GUESSERS} addresses at once for {seconds:.0f} s: {len(answers)} attempts; answers {counts(answers)}; "
                  f"passwords checked: {answers.count(403)}")
            print(f"  the logged-in user meanwhile: {len(took)} requests, p50 {ms(p50)}, p99 {ms(p99)}, "
                  f"max {ms(took[-1])} (target p99 <= {P99_TARGET:.0f} s; no answer: none within {TIMEOUT:.0f} s)")
            print(f"  service memory: peak +{grown:.0f} MB beyond one check's (VmHWM {vm_mb(proc.pid, 'VmHWM'):.0f} MB), "
                  f"VmRSS now {vm_mb(proc.pid, 'VmRSS'):.0f} MB (target: less than a second 64 MiB check)")
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if "reader" in locals():
                reader.join()
    return p99 <= P99_TARGET and grown < 64


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--tree", type=Path, default=REPO, help="the checkout whose daemon.py to run")
    args = parser.parse_args()
    return 0 if run(args.tree.resolve(), args.seconds) else 1


if __name__ == "__main__":
    sys.exit(main())
