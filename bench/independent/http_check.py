"""Issue 12: the page's upload and "where was this taken?" over real HTTP, against the real service.

The service runs as `daemon.py --config FILE` on a free port. The token is read the way the page
reads it: from `<meta name="geolocator-token">` in the HTML of `/`. `POST /api/locate` must answer
what `daemon.py locate --no-ai` prints for the same file and keep nothing; `POST /api/upload` must
file each photo as an inbox drop would (bytes unchanged, exiftool's GPS in the record).
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from common import DAEMON, PYTHON, Result, Workspace, exiftool, jpeg, locate, remove_tree, sha256, tag_gps, temp_root
from faults import DATE, make_formats, make_gps_oddities, tagged

MAX_WAIT = 30.0


def multipart(files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = b""
    for name, data in files:
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class Service:
    """`daemon.py --config FILE` as a process. `log`: its standard error goes there (else nowhere);
    `cookie`: a session cookie sent with every request (set by logging in); `read_token`: read the
    page's token from `/` at once (a service with a password needs a login first: see `read_token`)."""

    def __init__(self, ws: Workspace, log: Path | None = None, read_token: bool = True) -> None:
        self.ws = ws
        err = log.open("ab") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen([PYTHON, str(DAEMON), "--config", str(ws.config)], cwd=ws.root,
                                     stdout=subprocess.PIPE, stderr=err, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # "map: http://127.0.0.1:PORT/" once it serves
        match = re.search(r"http://([\d.]+):(\d+)", line)
        if not match:
            self.stop()
            raise RuntimeError(f"the service did not print its map address: {line!r}")
        self.host, self.port = match[1], int(match[2])
        self.origin = f"http://{self.host}:{self.port}"
        self.cookie = ""
        self.token = ""
        if read_token:
            self.read_token()

    def read_token(self) -> None:
        page = self.request("GET", "/")[1].decode()
        token = re.search(r'name="geolocator-token" content="([^"]+)"', page)
        if not token:
            self.stop()
            raise RuntimeError("no token in the page")
        self.token = token[1]

    def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        headers = dict(headers or {})
        if self.cookie and "Cookie" not in headers:
            headers["Cookie"] = self.cookie
        try:
            conn.request(method, path, body=body or None, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def post_files(self, path: str, files: list[tuple[str, bytes]], token: bool = True) -> tuple[int, bytes]:
        body, content_type = multipart(files)
        headers = {"Content-Type": content_type, "Origin": self.origin}
        if token:
            headers["X-Geolocator-Token"] = self.token
        return self.request("POST", path, body, headers)

    def write_headers(self) -> dict[str, str]:
        """What the page sends with a write: its token and its own Origin."""
        return {"X-Geolocator-Token": self.token, "Origin": self.origin}

    def post_json(self, path: str, payload: object = None) -> tuple[int, Any]:
        """A write as the page makes it (no payload: an empty body); the answer's JSON (or its text)."""
        data = b"" if payload is None else json.dumps(payload).encode()
        status, body = self.request("POST", path, data, {"Content-Type": "application/json", **self.write_headers()})
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body.decode(errors="replace")

    def get_json(self, path: str) -> Any:
        status, body = self.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status} {body[:200]!r}")
        return json.loads(body)

    def memory_kb(self, field: str = "VmHWM") -> int:
        """A line of /proc/PID/status (VmHWM: peak resident memory; VmRSS: now), in kB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        return -1

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def same_as_cli(answer: dict[str, Any], cli: dict[str, Any]) -> list[str]:
    return [f"{k}: http {answer.get(k)!r} != cli {cli.get(k)!r}" for k in sorted(set(answer) | set(cli)) if k != "file" and answer.get(k) != cli.get(k)]


def check() -> list[Result]:
    root = temp_root("http")
    samples = temp_root("http-samples")
    scratch = temp_root("http-scratch")
    temp_before = set(Path(tempfile.gettempdir()).glob("geolocator-locate-*"))
    service = None
    try:
        ws = Workspace(root, '[ollama]\nenabled = false\n[viewer]\nport = 0\ntile_url = ""\n[watch]\nsettle_seconds = 0.3\n')
        files = [*make_formats(samples, scratch), *make_gps_oddities(samples)]
        notes = samples / "notes.jpg"
        notes.write_text("not a photo\n", encoding="utf-8")
        emoji = jpeg(scratch / "e.jpg", (9, 8, 7))
        tag_gps(emoji, 35.6812, 139.7671, DATE)
        emoji = emoji.rename(samples / "東京 📷.jpg")
        long_name = tagged(samples / ("é" * 125 + ".jpeg"), (5, 6, 7), scratch)  # 255 bytes in UTF-8
        paths = [samples / f.name for f in files] + [notes, emoji, long_name]
        cli = {Path(k).name: v for k, v in locate(paths, cwd=samples).items()}
        service = Service(ws)
        out: list[Result] = []

        status, _ = service.post_files("/api/locate", [(paths[0].name, paths[0].read_bytes())], token=False)
        out.append(Result("http", "POST /api/locate without the token is refused", status == 403, f"HTTP {status}"))

        status, body = service.post_files("/api/locate", [(p.name, p.read_bytes()) for p in paths])
        answers = [json.loads(line) for line in body.decode().splitlines() if line.strip()] if status == 200 else []
        out.append(Result("http", f"POST /api/locate with {len(paths)} files answers one line each", len(answers) == len(paths), f"HTTP {status}, {len(answers)} lines"))
        for path, answer in zip(paths, answers, strict=False):
            diff = same_as_cli(answer, cli.get(path.name, {}))
            out.append(Result("http", f"locate over HTTP = daemon.py locate: {path.name[:40]}", not diff, "; ".join(diff) or str(answer.get("place") or answer.get("error"))))
        leftovers = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name not in ("config.toml",) and not p.name.startswith("geolocator.json")]
        temp_after = set(Path(tempfile.gettempdir()).glob("geolocator-locate-*")) - temp_before
        out.append(Result("http", "locate keeps nothing (inbox, library, temp folder)", not leftovers and not temp_after, f"{leftovers} {sorted(map(str, temp_after))}"))

        uploads = [p for p in paths if p.name in ("cmyk.jpg", "xmp-only.jpg", "exif.webp", "dead-sea.jpg")] + [emoji, long_name]
        status, body = service.post_files("/api/upload", [(p.name, p.read_bytes()) for p in uploads])
        sent = json.loads(body).get("files", []) if status == 200 else []
        accepted = status == 200 and len(sent) == len(uploads) and not any(f.get("error") for f in sent)
        out.append(Result("http", f"POST /api/upload of {len(uploads)} photos accepted", accepted, f"HTTP {status}: {body[:300]!r}"))
        ids = {f["sent_as"]: f["id"] for f in sent}
        # While the service runs its records are read as the page reads them: GET /api/images/<id>.
        deadline = time.monotonic() + MAX_WAIT
        records: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline and (len(records) < len(ids) or ws.inbox_left()):  # a record names its path before the move
            for i in ids.values():
                status, body = service.request("GET", f"/api/images/{i}")
                rec = json.loads(body) if status == 200 else {}
                if rec.get("status") in ("located", "unlocated", "failed", "duplicate"):
                    records[i] = rec
            time.sleep(0.2)
        for p in uploads:
            rec = records.get(ids.get(p.name, ""), {})
            problems = []
            if not rec:
                problems.append(f"no record within {MAX_WAIT:.0f} s (GET /api/images/<id>)")
            else:
                where = root / "library" / str(rec.get("path"))
                if not where.is_file() or sha256(where) != sha256(p):
                    problems.append(f"library file {rec.get('path')} missing or changed")
                gps = json.loads(exiftool("-j", "-n", "-Composite:GPSLatitude", "-Composite:GPSLongitude", "-XMP:GPSLatitude", "-XMP:GPSLongitude", p))[0]
                lat = gps.get("GPSLatitude")
                if lat is not None and abs(float(rec.get("lat") or 0) - float(lat)) > 1e-6:
                    problems.append(f"lat {rec.get('lat')} but exiftool reads {lat}")
                answer = cli.get(p.name, {})
                if (rec.get("lat"), rec.get("lon"), rec.get("place")) != (answer.get("lat"), answer.get("lon"), answer.get("place")):
                    problems.append(f"record ({rec.get('lat')}, {rec.get('lon')}, {rec.get('place')}) != locate ({answer.get('lat')}, {answer.get('lon')}, {answer.get('place')})")
            out.append(Result("http", f"uploaded {p.name[:40]} filed like an inbox drop", not problems, "; ".join(problems) or f"{rec.get('status')}: {rec.get('place')}"))
        left = ws.inbox_left()
        out.append(Result("http", "inbox empty after the uploads are filed", not left, str(left)))
        return out
    finally:
        if service is not None:
            service.stop()
        for folder in (root, samples, scratch):
            remove_tree(folder)
