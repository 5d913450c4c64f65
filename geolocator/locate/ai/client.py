"""The I/O edge: ask a local Ollama vision model where a photo was taken.

`AILocator.estimate(path)` prepares the image (`imageprep`), sends it with the prompt and the
JSON schema (`prompt`) through the official `ollama` client; `parse` reads the answer's text and
`judge` weighs it against the gazetteer.

Before the first request, and again after any failure, it checks the server once: `/api/version`
(is Ollama there?) and `/api/show` (is the model pulled, and can it see images?). The check is
cached while requests succeed, so a steady stream of photos costs one chat request each.

Errors mean exactly one thing each, so the caller can act on them:

- AIUnavailable ("try later"): Ollama unreachable, timed out, busy (503), failing (5xx),
  or answering something that is not Ollama's API. Never "this photo has no location".
- ModelMissing (an AIUnavailable): the model is not pulled (404) or cannot see images; the
  message names the fix, e.g. `ollama pull qwen2.5vl`.
- HTTP 400 on a chat request: Ollama rejected the request itself. With images this is nearly
  always the image overflowing the model's context window, so we retry once at half the size;
  if that is rejected too it is an AIUnavailable whose message says to lower
  [ollama] max_image_px or update Ollama/the model. It is not "no location" (the photo was
  never seen) and retrying later is right once the configuration is fixed.
- UnreadableImage: the file cannot be decoded (nothing to do with Ollama).

Every request is bounded by `transport.BoundedTransport`: the whole request, not each read, ends
within [ollama] timeout; at most MAX_RESPONSE_BYTES are read; a redirect is refused, never
followed. A server that breaks these (an endless or huge answer, a byte-a-second drip, a
redirect) is an AIUnavailable naming what it did. Proxies from the environment are not used:
their transport would escape these bounds, and Ollama runs on this machine or the LAN.

With several [ollama] hosts, `AILocator(config)` asks the server that answered last, then the
others in order, until one answers (for `locate` and the map page's one-off questions); the AI
worker spreads its queue with one `AILocator(config, host)` per server.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import ollama

from geolocator.config import OllamaConfig
from geolocator.errors import AIUnavailable, ModelMissing, OllamaUnreachable
from geolocator.locate.ai import imageprep, prompt
from geolocator.locate.ai.judge import interpret
from geolocator.locate.ai.transport import BoundedTransport, Redirected, ResponseTooLarge, refuse_redirect
from geolocator.record import AIEstimate

log = logging.getLogger(__name__)

SUGGESTED_VISION_MODEL = "qwen2.5vl"
NUM_CTX = 8192  # a 1344 px image is ~2,300 qwen2.5vl tokens; the prompt ~350; the answer <= NUM_PREDICT
NUM_PREDICT = 768  # the clues (~150 tokens) come first: the place and coordinates must still fit
KEEP_ALIVE = "10m"  # keep the model loaded between photos of a batch, free it when idle
MIN_RETRY_PX = 448  # below this a smaller image would not help a model that rejects the request
MAX_RESPONSE_BYTES = 512 * 1024  # a real answer is < 4 kB; /api/show with a long licence ~50 kB
PROBE_SECONDS = 5.0  # /api/version answers at once when Ollama is up
# What a request can raise that `_unavailable` explains (pydantic's errors are ValueErrors); anything
# else is a bug and propagates.
REQUEST_ERRORS = (ollama.ResponseError, httpx.HTTPError, ConnectionError, ValueError, Redirected, ResponseTooLarge)
T = TypeVar("T")


class AILocator:
    """Estimates where a photo was taken with the configured Ollama vision model: on `host`, or on
    the first of [ollama] host that answers. Thread-safe."""

    def __init__(self, config: OllamaConfig, host: str | None = None) -> None:
        self.config = config
        self.model = config.model
        self._servers = tuple(OllamaServer(config, url) for url in ((host,) if host is not None else config.hosts))
        self._first = 0  # the server that answered last is asked first

    @property
    def host(self) -> str:
        return self._servers[self._first].host

    def check(self) -> str:
        """One line describing a ready server and model; raises AIUnavailable / ModelMissing."""
        return self._first_answer(OllamaServer.check)

    def probe(self) -> str:
        """Ollama's version, asked cheaply (one small GET, a few seconds at most); raises AIUnavailable."""
        return self._first_answer(OllamaServer.probe)

    def estimate(self, path: Path) -> AIEstimate:
        """Where `path` was taken, as far as the model can tell (lat/lon None: it could not)."""
        return self._first_answer(lambda server: server.estimate(path))

    def _first_answer(self, ask: Callable[[OllamaServer], T]) -> T:
        """`ask` the server that answered last, then the others in order; when none answers, the one
        server's error, or one naming each server's."""
        first, count = self._first, len(self._servers)
        errors: list[AIUnavailable] = []
        for index in [*range(first, count), *range(first)]:
            try:
                answer = ask(self._servers[index])
            except AIUnavailable as exc:
                errors.append(exc)
                continue
            self._first = index
            return answer
        if count == 1:
            raise errors[0]
        kind = ModelMissing if all(isinstance(e, ModelMissing) for e in errors) else AIUnavailable
        raise kind(f"none of the {count} Ollama servers answered: " + "; ".join(str(e) for e in errors))


class OllamaServer:
    """One Ollama server and the model on it. Thread-safe."""

    def __init__(self, config: OllamaConfig, host: str) -> None:
        self.config = config
        self.model = config.model
        self.host = host
        self._transport = BoundedTransport()
        self._client = ollama.Client(
            host=host,
            timeout=config.timeout,
            follow_redirects=False,
            transport=self._transport,
            trust_env=False,
            event_hooks={"response": [refuse_redirect]},
        )
        self._lock = threading.Lock()
        self._ready: str | None = None  # the last successful check's description

    # -- public ----------------------------------------------------------------------------
    def check(self) -> str:
        """One line describing a ready server and model; raises AIUnavailable / ModelMissing."""
        try:
            version = self._version(self.config.timeout)
            show = self._call(self._client.show, self.model)
        except AIUnavailable:
            with self._lock:
                self._ready = None
            raise
        capabilities = list(show.capabilities) if show.capabilities is not None else None
        if capabilities is not None and "vision" not in capabilities:
            raise ModelMissing(
                f"model '{self.model}' on {self.host} cannot see images (capabilities: {', '.join(capabilities) or 'none'}): "
                f"set [ollama] model to a vision model, e.g. run `ollama pull {SUGGESTED_VISION_MODEL}`"
            )
        seen = "vision" if capabilities is not None else "vision capability not reported by this Ollama version"
        description = f"Ollama {version} at {self.host}, model '{self.model}' ({seen})"
        with self._lock:
            self._ready = description
        return description

    def probe(self) -> str:
        """Ollama's version, asked cheaply (one small GET, a few seconds at most); raises AIUnavailable."""
        return self._version(min(PROBE_SECONDS, self.config.timeout))

    def estimate(self, path: Path) -> AIEstimate:
        """Where `path` was taken, as far as the model can tell (lat/lon None: it could not)."""
        image = imageprep.prepare_image(path, self.config.max_image_px)  # UnreadableImage before any network
        if self._ready is None:
            self.check()
        try:
            text = self._chat(image)
        except ollama.ResponseError as exc:
            if exc.status_code != 400 or self.config.max_image_px // 2 < MIN_RETRY_PX:
                raise self._unavailable(exc) from None
            smaller = self.config.max_image_px // 2
            log.info("%s: Ollama rejected the request (%s); retrying at %d px", path.name, exc.error, smaller)
            try:
                text = self._chat(imageprep.prepare_image(path, smaller))
            except ollama.ResponseError as again:
                raise self._unavailable(again) from None
        return interpret(text, model=self.model, prompt_version=prompt.PROMPT_VERSION)

    # -- internals -------------------------------------------------------------------------
    def _chat(self, image: bytes) -> str:
        """The model's answer text. ResponseError is left to the caller; the rest is mapped."""
        try:
            with self._transport.budget(self.config.timeout, MAX_RESPONSE_BYTES):
                response = self._client.chat(
                    model=self.model,
                    messages=[{"role": "user", "content": prompt.PROMPT, "images": [image]}],
                    format=prompt.SCHEMA,
                    options={"temperature": 0, "num_ctx": NUM_CTX, "num_predict": NUM_PREDICT},
                    think=False,
                    keep_alive=KEEP_ALIVE,
                )
        except ollama.ResponseError:
            with self._lock:
                self._ready = None
            raise
        except REQUEST_ERRORS as exc:
            raise self._unavailable(exc) from None
        if response.done_reason == "length":
            log.warning("the model's answer was cut at %d tokens", NUM_PREDICT)
        return response.message.content or ""

    def _version(self, seconds: float) -> str:
        # The official client has no version(); reuse its HTTP client (same host, timeout, headers).
        try:
            with self._transport.budget(seconds, MAX_RESPONSE_BYTES):
                reply = self._client._client.get("/api/version")
            reply.raise_for_status()
            data = reply.json()
            return str(data.get("version", "?")) if isinstance(data, dict) else "?"
        except httpx.HTTPStatusError as exc:
            raise self._unavailable(ollama.ResponseError(exc.response.text, exc.response.status_code)) from None
        except ValueError:
            raise AIUnavailable(f"{self.host} answered /api/version with something that is not JSON: is it an Ollama server?") from None
        except REQUEST_ERRORS as exc:
            raise self._unavailable(exc) from None

    def _call(self, method: Any, *args: Any) -> Any:
        try:
            with self._transport.budget(self.config.timeout, MAX_RESPONSE_BYTES):
                return method(*args)
        except REQUEST_ERRORS as exc:
            raise self._unavailable(exc) from None

    def _unavailable(self, exc: BaseException) -> AIUnavailable:
        """Map any failure of a request to the error the caller can act on; forget the check."""
        with self._lock:
            self._ready = None
        host, model = self.host, self.model
        if isinstance(exc, ollama.ResponseError):
            status, reason = exc.status_code, exc.error
            if status == 404:
                return ModelMissing(f"model '{model}' is not installed on {host}: run `ollama pull {model}`")
            if status == 400:
                return AIUnavailable(
                    f"Ollama at {host} rejected the request for model '{model}' (HTTP 400: {reason}): the image "
                    f"may overflow the model's context; lower [ollama] max_image_px (now {self.config.max_image_px}) "
                    f"or update Ollama and the model"
                )
            if status == 503:
                return AIUnavailable(f"Ollama at {host} is busy (HTTP 503: {reason}): try later")
            if status >= 500:
                return AIUnavailable(f"Ollama at {host} failed (HTTP {status}: {reason}): try later")
            return AIUnavailable(f"Ollama at {host} answered HTTP {status}: {reason}: try later")
        if isinstance(exc, Redirected):
            return AIUnavailable(f"{host} answered with a redirect ({exc}), which is not followed: set [ollama] host to the Ollama server's own address")
        if isinstance(exc, ResponseTooLarge):
            return AIUnavailable(f"Ollama at {host} sent {exc} in one answer; reading stopped there (a real answer is a few kB): is it an Ollama server? Try later")
        if isinstance(exc, httpx.TimeoutException):
            return AIUnavailable(f"Ollama at {host} did not answer within {self.config.timeout:g} s: try later (or raise [ollama] timeout)")
        if isinstance(exc, (ConnectionError, httpx.ConnectError)):
            return OllamaUnreachable(f"cannot connect to Ollama at {host}: start it (`ollama serve` or `systemctl start ollama`) or fix [ollama] host")
        if isinstance(exc, httpx.HTTPError):
            return AIUnavailable(f"Ollama at {host} dropped the request ({type(exc).__name__}: {exc}): try later")
        if isinstance(exc, ValueError):  # a reply that is not the API's JSON (pydantic errors are ValueErrors)
            return AIUnavailable(f"{host} answered something that is not Ollama's API ({type(exc).__name__}): is it an Ollama server?")
        raise exc
