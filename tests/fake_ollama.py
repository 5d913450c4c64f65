"""A small, real HTTP server that speaks the part of Ollama's API geolocator uses.

Use it as a context manager, or through the `fake_ollama` fixture of tests/conftest.py
(`from fake_ollama import FakeOllama` for the type; tests/ is on sys.path):

    with FakeOllama() as fake:                  # listens on 127.0.0.1, a free port
        config = OllamaConfig(True, fake.url, "qwen2.5vl", 5.0, 1344)
        fake.answer('{"country": "France", ...}')   # the text /api/chat answers (the last one repeats)
        fake.fail(503, times=2)                 # the next 2 requests get HTTP 503 {"error": ...}
        fake.fail(500, path="/api/chat")        # every chat request fails, until fake.fail(None)
        fake.hang(3.0, times=1)                 # the next request waits 3 s before answering
        fake.hang(0.5, path="/api/chat")        # every chat answer takes 0.5 s (a model's fixed time)
        fake.hold(); fake.wait_in_flight(2); fake.release()   # chat requests wait, held, until
                                                # release(): wait_in_flight(n) returns once n are held
        fake.down(); ...; fake.up()             # stop listening (connection refused), then listen
                                                # again on the same port: an outage and recovery
        fake.misbehave(Trick.ENDLESS)           # a hostile or broken server, to /api/chat by default:
        fake.misbehave(Trick.HUGE, size=800 << 20)   # ENDLESS: chunked NDJSON that never ends; HUGE:
        fake.misbehave(Trick.DRIP, interval=0.2)     # one answer of `size` bytes; DRIP: a byte every
        fake.misbehave(Trick.DRIP_HEADERS)           # `interval` s of the body (or of endless headers);
        fake.misbehave(Trick.REDIRECT, location=u)   # REDIRECT: HTTP 307 to `location`.
        fake.misbehave(None)                    # behave again. Big answers are generated as they
                                                # are sent: the fake itself stays small.
        fake.requests                           # every request: Request(method, path, body)
        fake.most_in_flight                     # the most chat requests it was answering at once
        fake.chat_requests[-1].images()         # the decoded images of the last chat request

Endpoints (as documented by Ollama): GET /api/version, GET /api/tags, POST /api/show (404
{"error": "model 'x' not found"} for a model not installed; `capabilities` per model),
POST /api/chat (one JSON object when "stream" is false, NDJSON otherwise). Models are
installed with `FakeOllama(models={"qwen2.5vl": ["completion", "vision"]})` or `.install()`;
names without a tag mean ":latest", as in Ollama.

Every response carries "Connection: close", so `down()` really ends all traffic: no client
can keep talking through a pooled keep-alive connection. `stop()` (or leaving the `with`) ends
any hang at once and joins the server thread, so no thread outlives a test.
"""

from __future__ import annotations

import base64
import contextlib
import enum
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_ANSWER = json.dumps(
    {
        "clues": {
            "signs": "French on a plaque",
            "driving_side": None,
            "road_markings": None,
            "vegetation": "plane trees",
            "architecture": "wrought-iron lattice tower",
            "terrain": "flat river plain",
        },
        "country": "France",
        "region": "Île-de-France",
        "city": "Paris",
        "landmark": "Eiffel Tower",
        "latitude": 48.8584,
        "longitude": 2.2945,
        "confidence": 0.9,
        "description": "The Eiffel Tower seen from the Champ de Mars.",
    },
    ensure_ascii=False,
)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: Any  # the parsed JSON body; None for GET

    def images(self) -> list[bytes]:
        """The images of a chat request, decoded from base64."""
        messages = (self.body or {}).get("messages") or []
        return [base64.b64decode(image) for message in messages for image in message.get("images") or []]


class Trick(enum.Enum):
    ENDLESS = "endless"
    HUGE = "huge"
    DRIP = "drip"
    DRIP_HEADERS = "drip headers"
    REDIRECT = "redirect"


@dataclass(frozen=True)
class _Misbehaviour:
    trick: Trick
    size: int = 800 << 20
    interval: float = 1.0
    location: str = "http://127.0.0.1:9/api/chat"
    sent: list[int] = field(default_factory=lambda: [0])  # bytes of the body sent so far (mutable cell)


def _full_name(name: str) -> str:
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


@dataclass
class _Rule:
    remaining: int | None  # None: until replaced
    paths: tuple[str, ...] | None  # None: every endpoint

    def applies(self, path: str) -> bool:
        return (self.paths is None or path in self.paths) and (self.remaining is None or self.remaining > 0)

    def use(self) -> None:
        if self.remaining is not None:
            self.remaining -= 1


class FakeOllama:
    """A scriptable fake Ollama server; see the module docstring."""

    def __init__(self, models: dict[str, list[str]] | None = None, version: str = "0.12.6") -> None:
        self.version = version
        self.models = {_full_name(k): list(v) for k, v in (models or {"qwen2.5vl": ["completion", "vision"]}).items()}
        self.requests: list[Request] = []
        self._answers: list[str] = [DEFAULT_ANSWER]
        self._failure: tuple[int, str, _Rule] | None = None
        self._hang: tuple[float, _Rule] | None = None
        self._trick: tuple[_Misbehaviour, _Rule] | None = None
        self.tricks_played: list[_Misbehaviour] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # in_flight or holding changed
        self._holding = False
        self.in_flight = 0  # chat requests being answered now
        self.most_in_flight = 0
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeOllama:
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", self.port), _Handler)
        self._server.fake = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake-ollama-{self.port}")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # ends hangs and holds at once
        with self._changed:
            self._changed.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()  # joins the request threads still running
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def down(self) -> None:
        """Stop listening: new connections are refused until `up()`."""
        self.stop()

    def up(self) -> None:
        """Listen again, on the same port."""
        if self._server is None:
            self.start()

    def __enter__(self) -> FakeOllama:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- script --------------------------------------------------------------------------------
    def answer(self, *texts: str) -> None:
        """What /api/chat answers, in order; the last one repeats."""
        with self._lock:
            self._answers = list(texts) or [DEFAULT_ANSWER]

    def fail(self, status: int | None, times: int | None = None, error: str | None = None, path: str | None = None) -> None:
        """Answer HTTP `status` with {"error": error} (to `path` only, if given), `times` times or until
        `fail(None)`."""
        with self._lock:
            if status is None:
                self._failure = None
                return
            message = error or {503: "server busy, please try again.  maximum pending requests exceeded"}.get(status, "internal error")
            self._failure = (status, message, _Rule(times, (path,) if path else None))

    def hang(self, seconds: float | None, times: int | None = None, path: str | None = None) -> None:
        """Wait `seconds` before answering (to `path` only, if given); `hang(None)` stops."""
        with self._lock:
            self._hang = None if seconds is None else (seconds, _Rule(times, (path,) if path else None))

    def misbehave(self, trick: Trick | None, times: int | None = None, path: str | None = "/api/chat", **params: Any) -> None:
        """Answer with `trick` (see the module docstring) `times` times or until `misbehave(None)`."""
        with self._lock:
            self._trick = None if trick is None else (_Misbehaviour(trick, **params), _Rule(times, (path,) if path else None))

    def hold(self) -> None:
        """Chat requests wait, counted in `in_flight`, until `release()` (or `stop()`)."""
        with self._changed:
            self._holding = True

    def release(self) -> None:
        with self._changed:
            self._holding = False
            self._changed.notify_all()

    def wait_in_flight(self, count: int, timeout: float = 10.0) -> bool:
        """True once `count` chat requests are in flight (answered or held) at once; False after `timeout`."""
        with self._changed:
            return self._changed.wait_for(lambda: self.in_flight >= count, timeout)

    def install(self, name: str, capabilities: list[str] | None = None) -> None:
        with self._lock:
            self.models[_full_name(name)] = list(capabilities or ["completion", "vision"])

    def remove(self, name: str) -> None:
        with self._lock:
            self.models.pop(_full_name(name), None)

    @property
    def chat_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path == "/api/chat"]

    # -- serving (called from the handler threads) ---------------------------------------------
    def _respond(self, method: str, path: str, body: Any) -> tuple[int, Any] | _Misbehaviour:
        if path != "/api/chat":
            return self._answer(method, path, body)
        with self._changed:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self._changed.notify_all()
            self._changed.wait_for(lambda: not self._holding or self._stopping.is_set())
        try:
            return self._answer(method, path, body)
        finally:
            with self._changed:
                self.in_flight -= 1
                self._changed.notify_all()

    def _answer(self, method: str, path: str, body: Any) -> tuple[int, Any] | _Misbehaviour:
        with self._lock:
            self.requests.append(Request(method, path, body))
            if self._trick and self._trick[1].applies(path):
                self._trick[1].use()
                self.tricks_played.append(self._trick[0])
                return self._trick[0]
            hang = failure = None
            if self._hang and self._hang[1].applies(path):
                self._hang[1].use()
                hang = self._hang[0]
            if self._failure and self._failure[2].applies(path):
                self._failure[2].use()
                failure = self._failure[:2]
        if hang:
            self._stopping.wait(hang)
        if failure:
            return failure[0], {"error": failure[1]}
        route = {
            ("GET", "/api/version"): self._version,
            ("GET", "/api/tags"): self._tags,
            ("POST", "/api/show"): self._show,
            ("POST", "/api/chat"): self._chat,
        }.get((method, path))
        if route is None:
            return 404, {"error": "404 page not found"}
        return route(body if isinstance(body, dict) else {})

    def _version(self, _: dict) -> tuple[int, Any]:
        return 200, {"version": self.version}

    def _tags(self, _: dict) -> tuple[int, Any]:
        with self._lock:
            names = list(self.models)
        details = {"format": "gguf", "family": "qwen25vl", "parameter_size": "8.3B", "quantization_level": "Q4_K_M"}
        return 200, {"models": [{"name": n, "model": n, "modified_at": "2025-06-01T12:00:00Z", "size": 6_000_000_000, "digest": "0" * 64, "details": details} for n in names]}

    def _model(self, body: dict) -> tuple[str, list[str] | None]:
        name = str(body.get("model") or body.get("name") or "")
        with self._lock:
            return name, self.models.get(_full_name(name)) if name else None

    def _show(self, body: dict) -> tuple[int, Any]:
        name, capabilities = self._model(body)
        if capabilities is None:
            return 404, {"error": f"model '{name}' not found"}
        return 200, {
            "modelfile": f"FROM {name}",
            "parameters": "temperature 0.0001",
            "template": "{{ .Prompt }}",
            "details": {"format": "gguf", "family": "qwen25vl", "families": ["qwen25vl"], "parameter_size": "8.3B", "quantization_level": "Q4_K_M"},
            "model_info": {"general.architecture": "qwen25vl"},
            "capabilities": capabilities,
            "modified_at": "2025-06-01T12:00:00Z",
        }

    def _chat(self, body: dict) -> tuple[int, Any]:
        name, capabilities = self._model(body)
        if not name:
            return 400, {"error": "model is required"}
        if capabilities is None:
            return 404, {"error": f"model '{name}' not found"}
        with self._lock:
            text = self._answers.pop(0) if len(self._answers) > 1 else self._answers[0]
        return 200, {
            "model": name,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "message": {"role": "assistant", "content": text},
            "done": True,
            "done_reason": "stop",
            "total_duration": 1_000_000,
            "load_duration": 1_000,
            "prompt_eval_count": 2_600,
            "prompt_eval_duration": 500_000,
            "eval_count": 80,
            "eval_duration": 400_000,
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() joins them: nothing outlives stop()
    fake: FakeOllama


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._handle("GET", None)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._send(400, {"error": "invalid character in request body"})
            return
        self._handle("POST", body)

    def do_DELETE(self) -> None:
        self._handle("DELETE", None)

    def _handle(self, method: str, body: Any) -> None:
        fake = self.server.fake
        response = fake._respond(method, self.path.split("?")[0], body)
        if isinstance(response, _Misbehaviour):
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client stopped reading
                self._misbehave(response, fake._stopping)
            self.close_connection = True
            return
        status, payload = response
        stream = isinstance(body, dict) and body.get("stream", True) and self.path == "/api/chat" and status == 200
        if stream:  # NDJSON: the content, then the final object with the statistics
            first = {**payload, "done": False, "done_reason": None}
            last = {**payload, "message": {"role": "assistant", "content": ""}}
            self._send(status, None, (json.dumps(first) + "\n" + json.dumps(last) + "\n").encode(), "application/x-ndjson")
        else:
            self._send(status, payload)

    def _misbehave(self, trick: _Misbehaviour, stopping: threading.Event) -> None:
        match trick.trick:
            case Trick.REDIRECT:
                self.send_response(307)
                self.send_header("Location", trick.location)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()
            case Trick.ENDLESS:  # NDJSON parts that never end, as a streamed chat answer would
                self._start(200, "application/x-ndjson", {"Transfer-Encoding": "chunked"})
                line = json.dumps({"model": "qwen2.5vl", "message": {"role": "assistant", "content": "la " * 20}, "done": False}).encode() + b"\n"
                chunk = b"%x\r\n%s\r\n" % (len(line) * 64, line * 64)
                while not stopping.is_set():
                    self.wfile.write(chunk)
                    trick.sent[0] += len(line) * 64
            case Trick.HUGE:  # one JSON answer of trick.size bytes: a string of "a"s
                self._start(200, "application/json", {"Content-Length": str(trick.size)})
                head, tail = b'{"model": "qwen2.5vl", "message": {"role": "assistant", "content": "', b'"}, "done": true}'
                self.wfile.write(head)
                block, left = b"a" * 65536, trick.size - len(head) - len(tail)
                while left > 0 and not stopping.is_set():
                    self.wfile.write(block[: min(left, len(block))])
                    left -= len(block)
                    trick.sent[0] = trick.size - left
                self.wfile.write(tail)
            case Trick.DRIP:  # a valid answer, a byte every trick.interval seconds
                data = json.dumps({"model": "qwen2.5vl", "message": {"role": "assistant", "content": DEFAULT_ANSWER}, "done": True}).encode()
                self._start(200, "application/json", {"Content-Length": str(len(data))})
                for i in range(len(data)):
                    if stopping.wait(trick.interval):
                        return
                    self.wfile.write(data[i : i + 1])
                    self.wfile.flush()
                    trick.sent[0] = i + 1
            case Trick.DRIP_HEADERS:  # the status line, then a header that never ends
                self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                self.wfile.flush()
                while not stopping.wait(trick.interval):
                    self.wfile.write(b"a")
                    self.wfile.flush()
                    trick.sent[0] += 1

    def _start(self, status: int, kind: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()

    def _send(self, status: int, payload: Any, data: bytes | None = None, kind: str = "application/json; charset=utf-8") -> None:
        data = data if data is not None else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
            pass
        self.close_connection = True
