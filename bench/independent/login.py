"""Issue 16 items 10-13 and 16: the page's password, sessions, throttle, refusals and HEAD, over real HTTP.

A service bound to 127.0.0.1 that trusts a reverse proxy at 127.0.0.2 (`[viewer] trusted_proxies`):
it must refuse to start without a password; `daemon.py password` (the password on standard input,
twice) sets one in a 0600 file. Requests "through the proxy" come from 127.0.0.2 (a client
socket bound there) with X-Forwarded-For naming the client; others come from 127.0.0.1.

- a short password is refused by `daemon.py password`, nothing written;
- without a session nothing but the login page and static files answer;
- log in, upload a photo; log out; the old cookie then uploads nothing (401/403);
- log in again; `daemon.py password` while the service runs: the cookie opens nothing, the old
  password is refused, the new one works;
- 50 wrong passwords from one client: 429 with Retry-After, each answered quickly, only a few
  checked; meanwhile another client logs in at once; a client that is not the proxy cannot escape
  its own backoff by sending X-Forwarded-For;
- X-Forwarded-Proto: https from the proxy makes the cookie Secure; from anyone else it does not;
- refusals by headers (no session: 401; no token: 403; over `max_upload_mb`: 413) arrive as a
  status to Python's urllib and to curl, with a 5 MB body, also on a service without a password;
- HEAD on every GET route answers as GET does (status, type, length), without a body;
- after a restart, an open session is still open and a logged-out one still closed.
"""

from __future__ import annotations

import http.client
import json
import re
import stat
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from common import DAEMON, PYTHON, Result, Workspace, jpeg, remove_tree, tag_gps, temp_root, until
from http_check import Service, multipart

AREA = "login"
PROXY = "127.0.0.2"
PASSWORD = "tram 28 climbs to Graça"
NEW_PASSWORD = "pastel de nata at Belém"
ATTACKER, USER = "203.0.113.7", "198.51.100.20"
BIG = 5 * 1024 * 1024  # a refused body up to 8 MB is read and dropped, so the client gets the status


def toml(password: bool) -> str:
    proxies = f'trusted_proxies = ["{PROXY}"]\n' if password else ""
    return (f'[ollama]\nenabled = false\n[viewer]\nhost = "127.0.0.1"\nport = 0\ntile_url = ""\nmax_upload_mb = 1\n{proxies}'
            "[watch]\nsettle_seconds = 0.3\n")


def call(service: Service, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
         source: str | None = None, cookie: str = "") -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request; `source`: the client's own address (127.0.0.2: the proxy)."""
    conn = http.client.HTTPConnection(service.host, service.port, timeout=60, source_address=(source, 0) if source else None)
    heads = dict(headers or {})
    if cookie:
        heads["Cookie"] = cookie
    try:
        conn.request(method, path, body=body or None, headers=heads)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def login(service: Service, password: str, client: str | None = None, proto: str | None = None) -> tuple[int, str, http.client.HTTPMessage]:
    """POST /login as the login page does; through the proxy for `client`. (status, cookie, headers)."""
    headers = {"Content-Type": "application/json", "Origin": service.origin}
    if client:
        headers["X-Forwarded-For"] = client
    if proto:  # the browser is on https://photos.example.org; the proxy passes Host and the scheme
        headers.update({"X-Forwarded-Proto": proto, "Host": "photos.example.org", "Origin": f"{proto}://photos.example.org"})
    status, heads, _ = call(service, "POST", "/login", json.dumps({"password": password}).encode(), headers,
                            source=PROXY if client else None)
    set_cookie = heads.get("Set-Cookie", "")
    return status, set_cookie.split(";", 1)[0] if status == 200 else "", heads


def token_of(service: Service, cookie: str) -> str:
    status, _, body = call(service, "GET", "/", cookie=cookie)
    found = re.search(rb'name="geolocator-token" content="([^"]+)"', body)
    return found[1].decode() if status == 200 and found else ""


def upload(service: Service, cookie: str, token: str, photo: Path, name: str) -> int:
    body, content_type = multipart([(name, photo.read_bytes())])
    headers = {"Content-Type": content_type, "Origin": service.origin, "X-Geolocator-Token": token}
    return call(service, "POST", "/api/upload", body, headers, cookie=cookie)[0]


def set_password(ws: Workspace, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, str(DAEMON), "password", "--config", str(ws.config)], input=f"{password}\n{password}\n",
                          capture_output=True, text=True, timeout=120, cwd=ws.root)


def refusal_by_urllib(url: str, headers: dict[str, str], size: int = BIG) -> str:
    """What Python's urllib sees of a POST of `size` bytes: 'HTTP 403', or the exception."""
    request = urllib.request.Request(url, data=b"x" * size, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"no status: {exc!r}"


def refusal_by_curl(url: str, headers: dict[str, str], expect: bool, size: int = BIG) -> str:
    """curl's view: the status it printed and its exit code. `expect`: curl's default Expect:
    100-continue for a large body; else the header is removed and the body sent at once."""
    with tempfile.NamedTemporaryFile(prefix="geoloc-indep-body-") as body:
        body.write(b"x" * size)
        body.flush()
        args = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "--data-binary", f"@{body.name}", url]
        for name, value in headers.items():
            args += ["-H", f"{name}: {value}"]
        if not expect:
            args += ["-H", "Expect:"]
        done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    return f"HTTP {done.stdout.strip()} (curl exit {done.returncode}{', ' + done.stderr.strip() if done.stderr.strip() else ''})"


def refusals(service: Service, cases: list[tuple[str, dict[str, str], int]], where: str) -> list[Result]:
    """Each refusal as urllib, curl, and curl without Expect see it: the status, exit 0."""
    out = []
    url = service.origin + "/api/upload"
    for what, headers, status in cases:
        seen = {"urllib": refusal_by_urllib(url, headers), "curl": refusal_by_curl(url, headers, True),
                "curl (no Expect)": refusal_by_curl(url, headers, False)}
        for client, answer in seen.items():
            ok = answer.startswith(f"HTTP {status}") and ("curl" not in client or "curl exit 0" in answer)
            out.append(Result(AREA, f"{where}: {what} ({BIG >> 20} MB body): {client} gets {status}", ok, answer))
    return out


def head_like_get(service: Service, paths: list[str], cookie: str, where: str) -> list[Result]:
    out = []
    for path in paths:
        got_status, got_heads, got_body = call(service, "GET", path, cookie=cookie)
        head_status, head_heads, head_body = call(service, "HEAD", path, cookie=cookie)
        problems = []
        if head_status != got_status:
            problems.append(f"HEAD {head_status}, GET {got_status}")
        for header in ("Content-Type", "Content-Length", "Location"):
            if got_heads.get(header) != head_heads.get(header) and not (header == "Content-Length" and got_heads.get(header) is None):
                problems.append(f"{header}: HEAD {head_heads.get(header)!r}, GET {got_heads.get(header)!r}")
        if head_body:
            problems.append(f"HEAD sent {len(head_body)} bytes of body")
        out.append(Result(AREA, f"{where}: HEAD {path} answers as GET", not problems,
                          "; ".join(problems) or f"{got_status} {got_heads.get('Content-Type')} ({len(got_body)} bytes on GET)"))
    return out


def check_password_service(root: Path, scratch: Path) -> list[Result]:
    ws = Workspace(root, toml(password=True))
    out: list[Result] = []
    refused_start = subprocess.run([PYTHON, str(DAEMON), "--config", str(ws.config)], capture_output=True, text=True, timeout=60, cwd=root)
    said = refused_start.stdout + refused_start.stderr
    out.append(Result(AREA, "trusted_proxies without a password: the service refuses to start, saying how",
                      refused_start.returncode != 0 and "daemon.py password" in said, f"exit {refused_start.returncode}: {said.strip()[-200:]}"))
    short = set_password(ws, "short pw")
    files = [p.name for p in root.iterdir() if "password" in p.name]
    out.append(Result(AREA, "daemon.py password refuses 8 characters, writes nothing", short.returncode != 0 and not files,
                      f"exit {short.returncode}: {short.stderr.strip()[-160:]}; files {files}"))
    done = set_password(ws, PASSWORD)
    file = root / "geolocator.password"
    mode = stat.S_IMODE(file.stat().st_mode) if file.exists() else None
    out.append(Result(AREA, "daemon.py password (stdin) writes the hash in a 0600 file", done.returncode == 0 and mode == 0o600,
                      f"exit {done.returncode}; {file.name} mode {oct(mode) if mode is not None else None}"))

    service = Service(ws, log=root / "service.log", read_token=False)
    try:
        photo = jpeg(scratch / "lisbon.jpg", (10, 90, 160))
        tag_gps(photo, 38.7139, -9.1334, "-DateTimeOriginal=2023:04:02 16:00:00")

        status, heads, body = call(service, "GET", "/")
        out.append(Result(AREA, "no session: GET / is not the page (401 or a redirect to /login)",
                          status in (401, 302, 303) and b"geolocator-token" not in body, f"HTTP {status} Location={heads.get('Location')}"))
        status, _, _ = call(service, "GET", "/api/images")
        out.append(Result(AREA, "no session: GET /api/images is 401", status == 401, f"HTTP {status}"))

        status, cookie, heads = login(service, PASSWORD, USER)
        token = token_of(service, cookie)
        out.append(Result(AREA, "log in through the proxy: a session cookie, HttpOnly, SameSite=Strict, and the page's token",
                          status == 200 and bool(cookie) and bool(token) and "HttpOnly" in heads.get("Set-Cookie", "")
                          and "SameSite=Strict" in heads.get("Set-Cookie", ""), f"HTTP {status}; Set-Cookie {heads.get('Set-Cookie', '')[:30]}...; token {'yes' if token else 'no'}"))
        first = upload(service, cookie, token, photo, "lisbon.jpg")
        out.append(Result(AREA, "logged in: an upload is accepted", first == 200, f"HTTP {first}"))
        status, _, _ = call(service, "POST", "/logout", b"", {"Origin": service.origin, "X-Geolocator-Token": token}, cookie=cookie)
        logged_out = cookie
        after = upload(service, cookie, token, photo, "lisbon-again.jpg")
        listing = call(service, "GET", "/api/images", cookie=cookie)[0]
        out.append(Result(AREA, "logout ends the session on the server: the old cookie uploads nothing, lists nothing",
                          status == 200 and after in (401, 403) and listing == 401, f"logout HTTP {status}; upload then HTTP {after}; GET /api/images HTTP {listing}"))

        status, cookie, _ = login(service, PASSWORD, USER)
        token = token_of(service, cookie)
        before = upload(service, cookie, token, photo, "lisbon-3.jpg") if cookie else None
        changed = set_password(ws, NEW_PASSWORD)
        ended = until(lambda: upload(service, cookie, token, photo, "lisbon-4.jpg") in (401, 403), 10, 0.5)
        old_pw = login(service, PASSWORD, USER)[0]
        new_status, new_cookie, _ = login(service, NEW_PASSWORD, USER)
        out.append(Result(AREA, "daemon.py password while the service runs ends the session; old password refused, new one works",
                          before == 200 and changed.returncode == 0 and bool(ended) and old_pw == 403 and new_status == 200,
                          f"upload before HTTP {before}; password exit {changed.returncode}; old cookie refused within 10 s: {bool(ended)}; "
                          f"old password HTTP {old_pw}; new password HTTP {new_status}"))

        status, _, heads = login(service, NEW_PASSWORD, USER, proto="https")
        secure_via_proxy = "Secure" in heads.get("Set-Cookie", "")
        status2, heads2, _ = call(service, "POST", "/login", json.dumps({"password": NEW_PASSWORD}).encode(),
                                  {"Content-Type": "application/json", "Origin": service.origin, "X-Forwarded-Proto": "https"})
        secure_direct = "Secure" in heads2.get("Set-Cookie", "")
        out.append(Result(AREA, "X-Forwarded-Proto: https from the proxy makes the cookie Secure, from anyone else not",
                          status == 200 and secure_via_proxy and status2 == 200 and not secure_direct,
                          f"via proxy HTTP {status} Secure={secure_via_proxy}; direct HTTP {status2} Secure={secure_direct}"))

        out += throttle(service)
        cookie = new_cookie
        token = token_of(service, cookie)
        out += refusals(service, [("no session", {"Content-Type": "application/octet-stream", "Origin": service.origin}, 401),
                                  ("session, no token", {"Content-Type": "application/octet-stream", "Origin": service.origin, "Cookie": cookie}, 403),
                                  ("session and token, over max_upload_mb = 1", {"Content-Type": "application/octet-stream", "Origin": service.origin,
                                                                                 "Cookie": cookie, "X-Geolocator-Token": token}, 413)], "password")
        out += head_pages(service, cookie, "password")
        status, _, _ = call(service, "HEAD", "/api/images")
        out.append(Result(AREA, "password: HEAD /api/images without a session is 401 too", status == 401, f"HTTP {status}"))
        service.stop()
        service = Service(ws, log=root / "service.log", read_token=False)
        kept = call(service, "GET", "/api/images", cookie=cookie)[0]
        ended = call(service, "GET", "/api/images", cookie=logged_out)[0]
        out.append(Result(AREA, "after a restart: a session stays open, a logged-out one stays closed", kept == 200 and ended == 401,
                          f"open session HTTP {kept}; logged-out cookie HTTP {ended}"))
        return out
    finally:
        service.stop()


def throttle(service: Service) -> list[Result]:
    out = []
    statuses, times, retry_after = [], [], []
    started = time.monotonic()
    for n in range(50):
        t = time.monotonic()
        status, _, heads = login(service, f"wrong guess {n:02d}", ATTACKER)
        times.append(time.monotonic() - t)
        statuses.append(status)
        if status == 429:
            retry_after.append(heads.get("Retry-After"))
    total = time.monotonic() - started
    checked = statuses.count(403)
    refused = statuses.count(429)
    slow = [f"{s:.2f}" for s, code in zip(times, statuses, strict=True) if code == 429 and s > 0.25]
    out.append(Result(AREA, "50 wrong passwords from one client: 429 with Retry-After, answered at once, few checked",
                      refused >= 40 and all(r and r.isdigit() and int(r) >= 1 for r in retry_after) and not slow and total < 20,
                      f"{checked} checked (403), {refused} refused (429), others {[s for s in statuses if s not in (403, 429)]}; "
                      f"Retry-After {sorted(set(retry_after), key=str)[:5]}; 50 answered in {total:.1f} s; 429s slower than 0.25 s: {slow[:5]}"))
    t = time.monotonic()
    status, _, _ = login(service, NEW_PASSWORD, USER)
    out.append(Result(AREA, "meanwhile another client (through the proxy) logs in at once", status == 200 and time.monotonic() - t < 3,
                      f"HTTP {status} in {time.monotonic() - t:.2f} s"))
    # A client that is not the proxy: its X-Forwarded-For is ignored, its own address is throttled.
    direct = []
    for n in range(8):
        status, _, _ = call(service, "POST", "/login", json.dumps({"password": f"spoofed {n}"}).encode(),
                            {"Content-Type": "application/json", "Origin": service.origin, "X-Forwarded-For": f"192.0.2.{n + 1}"})
        direct.append(status)
    out.append(Result(AREA, "a direct client rotating X-Forwarded-For is throttled all the same", 429 in direct and direct.count(403) <= 4,
                      f"statuses {direct}"))
    return out


def head_pages(service: Service, cookie: str, where: str) -> list[Result]:
    body = call(service, "GET", "/", cookie=cookie)[2]
    static = re.findall(rb'(?:src|href)="(/static/[^"]+)"', body)[:2]
    images = json.loads(call(service, "GET", "/api/images?fields=id,status", cookie=cookie)[2] or b"[]")
    photo_id = next((i["id"] for i in images if i.get("status") == "located"), None)
    paths = ["/", "/login", "/api/map", "/api/map.bin", "/api/images", "/api/images.geojson", "/api/tracks", "/api/places?q=Lisbon",
             "/api/where?q=Lisbon", "/api/labels?bbox=-10,38,-9,39&zoom=10", *(s.decode() for s in static)]
    if photo_id:
        paths += [f"/api/images/{photo_id}", f"/thumb/{photo_id}", f"/image/{photo_id}", f"/preview/{photo_id}"]
    return head_like_get(service, paths, cookie, where)


def check_open_service(root: Path, scratch: Path) -> list[Result]:
    """The default: loopback, no password. 403 without the token and 413 over the limit as a status."""
    ws = Workspace(root, toml(password=False))
    service = Service(ws, log=root / "service.log")
    try:
        photo = jpeg(scratch / "porto.jpg", (10, 90, 160))
        tag_gps(photo, 41.1406, -8.6110, "-DateTimeOriginal=2023:04:03 16:00:00")
        status = upload(service, "", service.token, photo, "porto.jpg")
        until(lambda: any(i.get("status") == "located" for i in service.get_json("/api/images?fields=status")), 30)
        out = [Result(AREA, "no password: an upload with the page's token is accepted", status == 200, f"HTTP {status}")]
        out += refusals(service, [("no token", {"Content-Type": "application/octet-stream", "Origin": service.origin}, 403),
                                  ("token, over max_upload_mb = 1", {"Content-Type": "application/octet-stream", "Origin": service.origin,
                                                                     "X-Geolocator-Token": service.token}, 413)], "no password")
        out += head_pages(service, "", "no password")
        return out
    finally:
        service.stop()


def check() -> list[Result]:
    roots = [temp_root("login"), temp_root("login-open"), temp_root("login-scratch")]
    try:
        return [*check_password_service(roots[0], roots[2]), *check_open_service(roots[1], roots[2])]
    finally:
        for root in roots:
            remove_tree(root)
