"""Shared fixtures and guards.

Helpers live in small modules the tests import directly: `configs` (a config under tmp_path with
small settle times, in-process or as a TOML file), `processes` (the daemon as a subprocess run to
its end or started, stopped and reaped; a free port; -X importtime lists), `expect` (`wait_until`,
`never`, `wait_until_js` for a browser page), `trees` (whole folder trees with file contents),
`records` (a record factory; a file's record by the name it arrived under), `photos` (test
photos), `exiftool_process` (one exiftool kept open for the test process's fixtures and
references), `smallfs` (a real filesystem to fill), `fake_ollama` (an HTTP server speaking Ollama's
API), `browsers` (chromium through Playwright). Here: the corpus, the running service and daemon,
the fake Ollama, one chromium for the test process and the pages kept in it (`tabs`; screenshots
of a failed test's pages), and the
autouse guards against leaked threads (and, through pyproject.toml's filterwarnings, against
unexpected warnings).
"""

from __future__ import annotations

import contextlib
import functools
import json
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from browsers import FAILED, Tabs, launched, screenshot_pages
from configs import make_config
from corpus import CORPUS
from expect import wait_until
from fake_ollama import FakeOllama
from processes import daemon_env, reap, start_daemon

from geolocator.locations.ai_queue import Backoff
from geolocator.service import Service

REPO = Path(__file__).resolve().parent.parent
TRUTH_FILE = CORPUS / "exif-samples.truth.json"
THREAD_GRACE = 5.0  # seconds a stopped component's threads get to end after its test
QUICK_BACKOFF = Backoff(base=0.2, cap=1.0)  # an AI retry within a test's patience


# What a test module holds when its tests start another process, a server or the service.
STARTS_PARTS = {"subprocess", "run_daemon", "start_daemon", "ViewerServer", "Service", "FakeOllama", "fake_ollama"}
STARTS_FIXTURES = {"service", "daemon", "fake_ollama", "browser", "tabs", "page", "phone"}


def pytest_configure(config: pytest.Config) -> None:
    """A shell starting `make test &` without job control makes it ignore SIGINT, and so every
    daemon it starts: Python leaves an ignored SIGINT ignored, and a test stopping a daemon with
    Ctrl-C's signal would wait in vain. A handler (not an ignore) is reset to the default in each
    child process, whose Python then turns SIGINT into KeyboardInterrupt as it does at a terminal."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tests (test_browser*.py) carry the `browser` mark: `-m "not browser"` leaves them
    out. Those and the tests that start the service, a server or another process (or whose module
    does) carry `integration`: `make test-fast` runs the others. The tests marked `slow` run first,
    then the other integration tests, in their files' order: the long ones are handed out while
    every process has work, and the many short tests that start nothing fill the end."""
    for item in items:
        if item.path.name.startswith("test_browser"):
            item.add_marker(pytest.mark.browser)
        module = getattr(item, "module", None)
        if (item.path.name.startswith("test_browser") or STARTS_FIXTURES & set(getattr(item, "fixturenames", ()))
                or (module is not None and STARTS_PARTS & set(vars(module)))):
            item.add_marker(pytest.mark.integration)
    # Stable: file order kept within each group.
    items.sort(key=lambda item: (item.get_closest_marker("slow") is None, item.get_closest_marker("integration") is None))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Refuse a collection that did not select what was asked: `-m "not integration"` (make
    test-fast) keeping a test marked integration (the marks come too late when the hook that adds
    them runs after -m's selection); `--dist loadgroup` without each test's xdist_group in its id
    (how the tests of a group reach one process)."""
    if "not integration" in (session.config.option.markexpr or "") and any(item.get_closest_marker("integration") for item in session.items):
        raise pytest.UsageError('-m "not integration" kept integration tests: the marks were added after the selection')
    if getattr(session.config.option, "loadgroup", False):
        grouped = [item for item in session.items if item.get_closest_marker("xdist_group")]
        if grouped and not any("@" in item.nodeid for item in grouped):
            # Seen with pytest 9.2 and xdist 3.8 (pytest-xdist#1386): the groups' tests spread over
            # the processes, and a fixture built once for a group is built by each.
            raise pytest.UsageError("--dist loadgroup does not group the xdist_group tests with this pytest and pytest-xdist")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """A browser test that failed leaves a screenshot of each page it had open in its tmp_path; a
    test that failed in any phase is marked so (its page is not lent again: browsers.Tabs)."""
    report: pytest.TestReport = yield
    if report.failed:
        item.stash[FAILED] = True
    funcargs = getattr(item, "funcargs", {})
    if report.when == "call" and report.failed and "browser" in funcargs and "tmp_path" in funcargs:
        try:
            screenshot_pages(funcargs["browser"], funcargs["tmp_path"])
        except Exception as exc:
            report.sections.append(("screenshots", f"none taken: {exc}"))
    return report


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One chromium for the test process (tests/browsers.py), started by the first test that asks."""
    with launched(tmp_path_factory.mktemp("warmup")) as chromium:
        yield chromium


@pytest.fixture(scope="session")
def kept_tabs(browser: object) -> Tabs:
    return Tabs(browser)


@pytest.fixture
def tabs(kept_tabs: Tabs, request: pytest.FixtureRequest) -> Callable[..., contextlib.AbstractContextManager[Any]]:
    """`with tabs(**context_options) as page:` a page of the test process's chromium, kept
    between tests (browsers.Tabs); DESKTOP unless the options say, tiles.invalid aborted."""
    return functools.partial(kept_tabs.lend, request.node)


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not TRUTH_FILE.exists():
        pytest.fail(f"the sample corpus is missing: expected {TRUTH_FILE}")
    return CORPUS


@pytest.fixture(scope="session")
def truth(corpus: Path) -> list[dict]:
    """exiftool's reading of every file in the corpus it recognises."""
    return json.loads(TRUTH_FILE.read_text())


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves threads running (an observer, a worker, a server not stopped), as
    watchdog's tests do. Daemon threads are left out: they cannot keep the process alive."""
    before = set(threading.enumerate())

    def leaked() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon]

    yield
    if leaked():
        try:
            wait_until(lambda: not leaked(), THREAD_GRACE, "the test's threads to end")
        except AssertionError:
            pytest.fail(f"test leaked threads: {[t.name for t in leaked()]}")


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    """A running FakeOllama (tests/fake_ollama.py) with 'qwen2.5vl' installed (vision); stopped after the test."""
    with FakeOllama() as fake:
        yield fake


@pytest.fixture
def service(tmp_path: Path, corpus: Path) -> Iterator[Callable[..., Service]]:
    """Start the real service in-process on folders under tmp_path: `service(settle=0.3,
    ai=fake.url, watch={...}, paths={...})` (see configs.settings); each is stopped after the test."""
    running: list[Service] = []

    def start(**options: object) -> Service:
        svc = Service(make_config(tmp_path, **options), backoff=QUICK_BACKOFF).start()
        running.append(svc)
        return svc

    yield start
    for svc in running:
        svc.stop()


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start `daemon.py ARGS` as a subprocess (in tmp_path unless `cwd` says; `python` for
    interpreter options, keywords for environment variables): `daemon("--config", str(path))`;
    whatever is still running after the test is killed and reaped."""
    started: list[subprocess.Popen[str]] = []

    def start(*args: str, cwd: Path | None = None, python: tuple[str, ...] = (), **env: str) -> subprocess.Popen[str]:
        proc = start_daemon(*args, cwd=cwd or tmp_path, env=daemon_env(**env), python=python)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        reap(proc)
