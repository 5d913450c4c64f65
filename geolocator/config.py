"""Configuration: settings declared as data, loaded from config.toml into a frozen `Config`.

Every setting has a default, so geolocator runs with no file at all. Unknown keys and wrong
types are `ConfigError`s that name the key and the file. Relative paths resolve against the
folder of the config file (or the current folder when there is none).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import re
import string
import tomllib
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Any, cast
from urllib.parse import urlsplit

from geolocator.errors import ConfigError

DEFAULT_IGNORE = (".*", "*.part", "*.crdownload", "*.tmp", "~*")
INCOMPLETE_SECONDS = 120.0  # how long a file that looks cut short must stay unchanged before it is taken as it is
MAX_UPLOAD_MB = 1 << 20  # a terabyte: beyond that the setting is a typo
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'


@dataclass(frozen=True)
class Setting:
    """One key of config.toml, as the section's dataclass field declares it (`setting`)."""

    name: str
    default: Any
    help: str
    kind: type  # the TOML type expected; Path: a string resolved to a path; tuple: one string or a list of them;
    # dict: a table of strings (kept as a tuple of (key, value) pairs: a Config is frozen all through)
    item: type | None = None  # element type, for lists


def setting(default: Any, help: str) -> Any:
    """A section dataclass field: its default and the help text config.toml shows. Its type, from
    the field's annotation, is the one the file must give."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class PathsConfig:
    inbox: Path = setting(Path("inbox"), "Folder to watch for new photos.")
    library: Path = setting(Path("library"), "Where located and unlocated photos are moved.")
    failed: Path = setting(Path("failed"), "Where unreadable files are moved, with the reason recorded.")
    duplicates: Path = setting(Path("duplicates"), "Where files whose content is already recorded are moved.")
    database: Path = setting(Path("geolocator.json"), "The TinyDB file holding one record per photo.")


@dataclass(frozen=True)
class WatchConfig:
    recursive: bool = setting(True, "Also watch folders inside the inbox.")
    polling: bool = setting(False, "Poll instead of inotify (for network shares).")
    settle_seconds: float = setting(2.0, "A file is ready once its size and mtime are unchanged this long.")
    incomplete_seconds: float = setting(
        INCOMPLETE_SECONDS,
        "A file that looks cut short (a JPEG without its end, boxes past the end) is taken only once unchanged this long: then located "
        "from what it says, with a 'truncated' warning, or failed as incomplete when nothing in it can be read.",
    )
    rescan_minutes: float = setting(10.0, "Rescan the inbox this often as a safety net (0 turns it off).")
    ignore: tuple[str, ...] = setting(DEFAULT_IGNORE, "Name patterns never processed (temporary and hidden files).")


@dataclass(frozen=True)
class LibraryConfig:
    move: bool = setting(
        True,
        "Move each file out of the inbox into library/, failed/ or duplicates/ (true), or index the inbox in place as the root of "
        "an archive you keep sorted yourself (false): nothing there is moved, renamed or modified; only sidecars are written beside photos.",
    )
    layout: str = setting(
        "{year}/{month}", "Sub-folder for each photo: {year}, {month}, {day} from its capture time (the file's, else its name's or, for a copy, its original's); undated/ without one."
    )
    sidecars: bool = setting(
        True,
        "Write each location not read from the file itself (manual, track, nearby, copy) to the photo's XMP sidecar for digiKam, darktable, Lightroom and exiftool, merged into one already there.",
    )
    sidecars_ai: bool = setting(
        False,
        "Also write AI estimates to sidecars, with their radius as exif:GPSHPositioningError (off: other programs may take a country-wide estimate for a GPS fix).",
    )


@dataclass(frozen=True)
class OllamaConfig:
    enabled: bool = setting(True, "Ask the vision model where photos without GPS were taken.")
    host: str | tuple[str, ...] = setting("http://127.0.0.1:11434", 'Ollama server address, or a list of them to share the work (["http://gpu1:11434", "http://gpu2:11434"]).')
    model: str = setting("qwen2.5vl", "Vision model to ask (must be pulled: `ollama pull MODEL`).")
    timeout: float = setting(120.0, "Seconds to wait for one answer before trying later.")
    max_image_px: int = setting(1344, "Longest side of the image sent to the model, in pixels.")
    per_host: int = setting(1, "Requests in flight per Ollama server (more only if the server runs several at once: OLLAMA_NUM_PARALLEL).")

    @property
    def hosts(self) -> tuple[str, ...]:
        return (self.host,) if isinstance(self.host, str) else self.host


@dataclass(frozen=True)
class LocationConfig:
    """Rules for placing photos without GPS from tracks and from photos taken around them."""

    max_gap_minutes: float = setting(30.0, "Tracks: interpolate between two track points at most this far apart in time (exiftool's default).")
    beyond_minutes: float = setting(30.0, "Tracks: a photo up to this long before a track's start, after its end or inside a longer gap takes the nearest point.")
    camera_utc_offset: str = setting("", 'UTC offset of camera clocks ("+02:00") for photos whose file records none and that no track covers; empty: unknown.')
    camera_offsets: tuple[tuple[str, str], ...] = setting(
        (),
        'How far each camera\'s clock is behind, as exiftool\'s -geosync: {"Canon EOS 40D"="+00:03:12"} (make and model as the page '
        'shows them, or one body: "Canon EOS 40D #0820500998"); added to its photos\' times before they are matched with tracks.',
    )
    same_camera_minutes: float = setting(10.0, "Nearby: a located photo from the same camera at most this far in time places a photo without GPS.")
    both_sides_minutes: float = setting(30.0, "Nearby: otherwise located photos on both sides, each at most this far in time and agreeing, place it.")
    agree_km: float = setting(1.0, "Nearby: the most the neighbours used may lie apart; farther apart they disagree and place nothing.")
    copies: bool = setting(
        True,
        "Copies: a photo without a location whose picture is that of a located photo (re-encoded, resized, stripped of its metadata, "
        "cropped by up to a tenth a side) takes that photo's location and capture time. Costs a small decode of each photo filed.",
    )
    track_max_mb: int = setting(10240, "Tracks: a track file larger than this (in megabytes) is failed with the reason, not read. Memory does not grow with the size.")
    track_max_points: int = setting(
        12_000_000,
        "Tracks: a track file with more points is failed with the reason (a 3 GB Google Records.json has about 10 million). Reading costs up to 32 bytes a point.",
    )


@dataclass(frozen=True)
class ViewerConfig:
    enabled: bool = setting(True, "Serve the map page.")
    host: str = setting("127.0.0.1", "Address the map page listens on (keep 127.0.0.1 unless you need it elsewhere).")
    port: int = setting(8765, "Port of the map page (0: any free port, shown at start).")
    tile_url: str = setting(
        "",
        f'Map tile URL template ({{z}}/{{x}}/{{y}}), e.g. "{OSM_TILES}"; empty: no tiles, nothing leaves this machine '
        "and the built-in basemap shows. A tile server sees your address and every place you look at.",
    )
    tile_attribution: str = setting(OSM_ATTRIBUTION, "Attribution shown for the tiles (when tile_url is set).")
    password_file: Path | None = setting(
        None,
        "File holding the map page's password hash (mode 0600), written by `daemon.py password`; empty: beside the database "
        "(geolocator.password). A password is required when host is not a loopback address or trusted_proxies is set.",
    )
    password_hash: str = setting("", "Legacy: a password hash kept in this file, used only when password_file does not exist; run `daemon.py password` to move it.")
    max_upload_mb: int = setting(500, "Largest upload the page accepts in one request, in megabytes.")
    trusted_proxies: tuple[str, ...] = setting(
        (),
        'Addresses of reverse proxies (e.g. ["127.0.0.1"], or networks "10.0.0.0/8") whose X-Forwarded-For and X-Forwarded-Proto '
        "are believed: the client's address for the login's backoff, and HTTPS for the cookie's Secure flag.",
    )


# The sections of config.toml, in the order the file shows them.
SECTIONS: dict[str, type] = {
    "paths": PathsConfig,
    "watch": WatchConfig,
    "library": LibraryConfig,
    "ollama": OllamaConfig,
    "location": LocationConfig,
    "viewer": ViewerConfig,
}


@dataclass(frozen=True)
class Config:
    paths: PathsConfig = PathsConfig()
    watch: WatchConfig = WatchConfig()
    library: LibraryConfig = LibraryConfig()
    ollama: OllamaConfig = OllamaConfig()
    viewer: ViewerConfig = ViewerConfig()
    source: Path | None = None  # the file it was read from; None for embedded defaults
    location: LocationConfig = LocationConfig()

    def replace(self, section: str, **changes: Any) -> Config:
        """A copy with some settings of one section changed (for tests and CLI flags)."""
        return dataclasses.replace(self, **{section: dataclasses.replace(getattr(self, section), **changes)})


def _kind(annotation: Any) -> tuple[type, type | None]:
    """The TOML type a field's annotation asks for (and a list's element type)."""
    if annotation in (str, bool, int, float, Path):
        return annotation, None
    if annotation == Path | None:  # an optional path: "" in the file
        return Path, None
    if annotation == tuple[tuple[str, str], ...]:  # a table of strings
        return dict, str
    if typing.get_origin(annotation) is tuple:
        return list, typing.get_args(annotation)[0]
    if set(typing.get_args(annotation)) == {str, tuple[str, ...]}:  # str | tuple[str, ...]: one or several
        return tuple, str
    raise TypeError(f"no config type for {annotation!r}")


def _settings(section: type) -> tuple[Setting, ...]:
    hints = typing.get_type_hints(section)
    return tuple(Setting(f.name, f.default, f.metadata["help"], *_kind(hints[f.name])) for f in dataclasses.fields(section))


# Every key of config.toml with its default, help and type: read from the section dataclasses.
SETTINGS: dict[str, tuple[Setting, ...]] = {name: _settings(section) for name, section in SECTIONS.items()}


def setting_default(section: str, name: str) -> Any:
    """The default declared for a key (for modules that use it without a Config)."""
    return next(s.default for s in SETTINGS[section] if s.name == name)


_TYPE_NAMES = {
    str: "a string", bool: "true or false", int: "an integer", float: "a number", list: "a list", Path: "a path string",
    tuple: "a string or a list of strings", dict: 'a table of strings ({"name" = "value"})',
}  # fmt: skip


def _check_type(setting: Setting, value: Any, where: str) -> Any:
    kind = setting.kind
    if kind is tuple:  # one string, or a non-empty list of them
        if isinstance(value, str):
            return value
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return tuple(value)
        if value == []:
            raise ConfigError(f"{where}: the list is empty: name at least one server")
        raise ConfigError(f"{where}: expected {_TYPE_NAMES[kind]}, got {type(value).__name__} {value!r}")
    if kind is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected {_TYPE_NAMES[kind]}, got {type(value).__name__} {value!r}")
        table = cast("dict[str, Any]", value)
        for key, item in table.items():
            if not isinstance(item, str):
                raise ConfigError(f"{where}: {key!r}: expected a string, got {type(item).__name__} {item!r}")
        return tuple(table.items())
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is float and isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}: expected a finite number, got {value!r}")
    expected = str if kind is Path else kind
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(f"{where}: expected {_TYPE_NAMES[kind]}, got {type(value).__name__} {value!r}")
    if kind is list:
        item_kind = setting.item or str
        items = cast("list[Any]", value)
        for item in items:
            if not isinstance(item, item_kind):
                raise ConfigError(f"{where}: expected a list of {_TYPE_NAMES[item_kind]}, found {item!r}")
        return tuple(items)
    return value


def _validate_ollama(values: dict[str, Any], where: str) -> None:
    if values["max_image_px"] < 64:
        raise ConfigError(f"{where}: [ollama] max_image_px must be at least 64, got {values['max_image_px']}")
    if values["timeout"] <= 0:
        raise ConfigError(f"{where}: [ollama] timeout must be positive, got {values['timeout']}")
    if not 1 <= values["per_host"] <= 64:
        raise ConfigError(f"{where}: [ollama] per_host must be between 1 and 64, got {values['per_host']}")
    _validate_hosts(values["host"], where)
    if values["timeout"] > 86400:
        raise ConfigError(f"{where}: [ollama] timeout must be at most 86400 seconds (a day), got {values['timeout']}")


def _validate_watch(values: dict[str, Any], where: str) -> None:
    for key in ("settle_seconds", "incomplete_seconds", "rescan_minutes"):
        if values[key] < 0:
            raise ConfigError(f"{where}: [watch] {key} cannot be negative, got {values[key]}")


LAYOUT_FIELDS = ("year", "month", "day")


def check_layout(layout: str) -> str | None:
    """Why `layout` is not a usable library layout, or None when it is."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(layout) if name is not None]
    except ValueError as exc:
        return f"{layout!r} is not a valid pattern ({exc})"
    unknown = [f for f in fields if f not in LAYOUT_FIELDS]
    if unknown:
        return f"unknown field {{{unknown[0]}}} in {layout!r} (use {', '.join('{' + f + '}' for f in LAYOUT_FIELDS)})"
    parts = PurePosixPath(layout).parts
    if layout.startswith("/") or ".." in parts or "\\" in layout:
        return f"{layout!r} must stay inside the library (no leading /, no .., no backslash)"
    return None


def _validate_library(values: dict[str, Any], where: str) -> None:
    problem = check_layout(values["layout"])
    if problem:
        raise ConfigError(f"{where}: [library] layout: {problem}")


def _validate_viewer(values: dict[str, Any], where: str) -> None:
    if not 0 <= values["port"] < 65536:
        raise ConfigError(f"{where}: [viewer] port must be between 0 and 65535, got {values['port']}")
    _validate_viewer_access(values, where)
    if values["tile_url"]:
        problem = _tile_url_problem(values["tile_url"])
        if problem:
            raise ConfigError(f"{where}: [viewer] tile_url: {problem}")


def _validate_viewer_access(values: dict[str, Any], where: str) -> None:
    if not 1 <= values["max_upload_mb"] <= MAX_UPLOAD_MB:
        raise ConfigError(f"{where}: [viewer] max_upload_mb must be between 1 and {MAX_UPLOAD_MB}, got {values['max_upload_mb']}")
    if values["password_hash"]:
        from geolocator.auth import PasswordError, check_password_hash

        try:
            check_password_hash(values["password_hash"])
        except PasswordError as exc:
            raise ConfigError(f"{where}: [viewer] password_hash: {exc}") from None
    for proxy in values["trusted_proxies"]:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigError(f"{where}: [viewer] trusted_proxies: {proxy!r} is not an IP address or network (\"127.0.0.1\", \"10.0.0.0/8\")") from None


def _validate_hosts(host: str | tuple[str, ...], where: str) -> None:
    hosts = (host,) if isinstance(host, str) else host
    for url in hosts:
        problem = _host_problem(url)
        if problem:
            raise ConfigError(f"{where}: [ollama] host {url!r}: {problem}")
    seen = [url.rstrip("/") for url in hosts]
    for url in seen:
        if seen.count(url) > 1:
            raise ConfigError(f"{where}: [ollama] host lists {url!r} twice: name each server once (per_host sets how many requests each takes)")


def _host_problem(url: str) -> str | None:
    """Why `url` is no Ollama address the official client takes (without a scheme it means http; without
    a host, 127.0.0.1), or None."""
    if not url.strip() or any(ch.isspace() for ch in url):
        return "expected an address such as http://127.0.0.1:11434"
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        return "expected an address such as http://127.0.0.1:11434, with a port from 1 to 65535"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https:// (or be host:port)"
    if not (parts.hostname or parts.port) or parts.query or parts.fragment:
        return "expected an address such as http://127.0.0.1:11434"
    return None


def _validate_location(values: dict[str, Any], where: str) -> None:
    for key in ("max_gap_minutes", "beyond_minutes", "same_camera_minutes", "both_sides_minutes", "agree_km"):
        if not 0 <= values[key] <= 10_000:
            raise ConfigError(f"{where}: [location] {key} must be between 0 and 10000, got {values[key]}")
    for key in ("track_max_mb", "track_max_points"):
        if values[key] < 1:
            raise ConfigError(f"{where}: [location] {key} must be at least 1, got {values[key]}")
    if values["camera_utc_offset"]:
        try:
            parse_utc_offset(values["camera_utc_offset"])
        except ValueError as exc:
            raise ConfigError(f"{where}: [location] camera_utc_offset: {exc}") from None
    for camera, offset in values["camera_offsets"]:
        if not camera.partition("#")[0].strip():
            raise ConfigError(f"{where}: [location] camera_offsets: {camera!r}: name a camera (its make and model, as the page shows it)")
        try:
            parse_clock_offset(offset)
        except ValueError as exc:
            raise ConfigError(f"{where}: [location] camera_offsets: {camera!r}: {exc}") from None


_UTC_OFFSET = re.compile(r"^\s*(?:(Z)|([+-])(\d{2}):?(\d{2}))\s*$")
MAX_UTC_OFFSET = timedelta(hours=14)  # the farthest any zone is from UTC (Kiribati's Line Islands)


def parse_utc_offset(text: str) -> timedelta:
    """A configured UTC offset, "+02:00", "-0530" or "Z", as a timedelta; ValueError otherwise."""
    match = _UTC_OFFSET.match(text)
    delta = timedelta(hours=int(match[3]), minutes=int(match[4])) if match and not match[1] else timedelta(0)
    if match is None or int(match[4] or 0) > 59 or delta > MAX_UTC_OFFSET:
        raise ValueError(f"not a UTC offset (like +02:00), within 14 hours of UTC: {text!r}")
    return -delta if match[2] == "-" else delta


MAX_CLOCK_OFFSET = timedelta(days=36525)  # a century: a clock reset to its factory date is within it

_CLOCK_OFFSET = re.compile(r"^\s*([+-])?\s*(?:(\d+)\s+)?(?:(?:(\d+):)?(\d+):)?(\d+(?:\.\d*)?)\s*$")


def parse_clock_offset(text: str) -> timedelta:
    """exiftool's Geosync forms: "SS", "MM:SS", "HH:MM:SS" or "DD HH:MM:SS", with a leading "+"
    or "-" and decimal seconds ("+00:03:12", "-1:20", "90", "1 02:00:00"). ValueError otherwise."""
    match = _CLOCK_OFFSET.match(text)
    if match is None:
        raise ValueError(f"not a clock offset (like +00:03:12, -1:20 or 90 seconds): {text!r}")
    sign, days, hours, minutes, seconds = match.groups()
    bad_days = days is not None and (hours is None or int(hours) >= 24)  # only "DD HH:MM:SS"
    if bad_days or (hours is not None and int(minutes) >= 60) or (minutes is not None and float(seconds) >= 60):
        raise ValueError(f"not a clock offset (SS, MM:SS, HH:MM:SS or DD HH:MM:SS, each below 60, 60 and 24): {text!r}")
    offset = timedelta(days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0), seconds=float(seconds))
    if offset > MAX_CLOCK_OFFSET:
        raise ValueError(f"a clock offset of more than a century: {text!r}")
    return -offset if sign == "-" else offset


def _tile_url_problem(url: str) -> str | None:
    """Why `url` is not a usable tile URL template, or None. It also feeds the page's
    Content-Security-Policy, so its host must be a plain host name."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"must start with http:// or https://, got {url!r}"
    if not re.fullmatch(r"(\{s\}\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?", parts.netloc):
        return f"the host must be a plain name (optionally {{s}}. first and a :port), got {parts.netloc!r}"
    if any(ch in url for ch in " ;,'\"<>\\"):
        return "must not contain spaces, quotes, ';', ',', '<', '>' or backslashes"
    missing = [f for f in ("{z}", "{x}", "{y}") if f not in url]
    if missing:
        return f"needs {', '.join(missing)} (e.g. https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png)"
    return None


# Checks beyond a value's type, by section: ranges, and rules of the values' own.
_VALIDATORS: dict[str, Callable[[dict[str, Any], str], None]] = {
    "ollama": _validate_ollama,
    "watch": _validate_watch,
    "library": _validate_library,
    "location": _validate_location,
    "viewer": _validate_viewer,
}


def build_config(data: dict[str, Any], base_dir: Path, source: Path | None) -> Config:
    """Turn parsed TOML into a Config; `base_dir` anchors relative paths."""
    where = str(source) if source else "embedded defaults"
    for section in data:
        if section not in SETTINGS:
            known = ", ".join(f"[{s}]" for s in SETTINGS)
            raise ConfigError(f"{where}: unknown section [{section}] (known: {known})")
        if not isinstance(data[section], dict):
            raise ConfigError(f"{where}: {section} must be a table [{section}]")
    sections: dict[str, Any] = {}
    for section, settings in SETTINGS.items():
        given = dict(data.get(section, {}))
        names = {s.name for s in settings}
        for key in given:
            if key not in names:
                raise ConfigError(f"{where}: unknown key '{key}' in [{section}] (known: {', '.join(sorted(names))})")
        values: dict[str, Any] = {}
        for setting in settings:
            value = _check_type(setting, given[setting.name], f"{where}: [{section}] {setting.name}") if setting.name in given else setting.default
            if setting.kind is Path:  # an optional path (default None) given as "" stays None
                value = (base_dir / Path(value).expanduser()).resolve() if value else None
            values[setting.name] = value
        if section in _VALIDATORS:
            _VALIDATORS[section](values, where)
        sections[section] = SECTIONS[section](**values)
    _check_folders_differ(sections["paths"], where)
    return Config(**sections, source=source)


def _check_folders_differ(paths: PathsConfig, where: str) -> None:
    """Two roles in one folder would move files round in circles (a library that is the inbox)."""
    folders = {"inbox": paths.inbox, "library": paths.library, "failed": paths.failed, "duplicates": paths.duplicates}
    seen: dict[Path, str] = {}
    for key, folder in folders.items():
        if folder in seen:
            raise ConfigError(f"{where}: [paths] {key} and {seen[folder]} are the same folder ({folder}): each needs its own")
        seen[folder] = key
    if paths.database in seen:
        raise ConfigError(f"{where}: [paths] database ({paths.database}) is a folder of geolocator's: name a file")


def load_config(path: Path | None, cwd: Path | None = None) -> Config:
    """Load `path`, or the embedded defaults (relative to `cwd`) when `path` is None."""
    if path is None:
        return build_config({}, (cwd or Path.cwd()).resolve(), None)
    path = path.expanduser().resolve()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return build_config(data, path.parent, path)


def render_default_toml() -> str:
    """The shipped config.toml: every key, commented, with its default and help. Written by hand:
    tomllib only reads, no kept library writes TOML, and these values are plain scalars and lists."""
    lines = [
        "# geolocator configuration. Every key is optional: the values shown are the defaults.",
        "# Relative paths are relative to the folder of this file.",
    ]
    for section, settings in SETTINGS.items():
        lines += ["", f"[{section}]"]
        for setting in settings:
            lines.append(f"# {setting.help}")
            default = _toml_table(setting.default) if setting.kind is dict else _toml_value(setting.default)
            lines.append(f"# {setting.name} = {default}")
    return "\n".join(lines) + "\n"


def _toml_table(pairs: tuple[tuple[str, str], ...]) -> str:
    return "{" + ", ".join(f"{_toml_value(key)} = {_toml_value(value)}" for key, value in pairs) + "}"


def _toml_value(value: Any) -> str:
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
