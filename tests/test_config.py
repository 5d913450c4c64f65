"""Config: defaults embedded, unknown keys and wrong types name the key and the file."""

from pathlib import Path

import pytest

from geolocator.config import SETTINGS, load_config, render_default_toml
from geolocator.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf" / "config.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_no_file_means_defaults_relative_to_the_current_folder(tmp_path):
    config = load_config(None, cwd=tmp_path)
    assert config.paths.inbox == tmp_path / "inbox"
    assert config.paths.database == tmp_path / "geolocator.json"
    assert config.viewer.host == "127.0.0.1"
    assert config.ollama.max_image_px == 1344
    assert config.source is None


def test_relative_paths_resolve_against_the_config_folder(tmp_path):
    path = write(tmp_path, '[paths]\ninbox = "in"\nlibrary = "/srv/photos"\n')
    config = load_config(path)
    assert config.paths.inbox == tmp_path / "conf" / "in"
    assert config.paths.library == Path("/srv/photos")
    assert config.source == path


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[paths]\ninbx = 'x'\n", "unknown key 'inbx' in [paths]"),
        ("[viewr]\nport = 1\n", "unknown section [viewr]"),
        ("[viewer]\nport = '8080'\n", "[viewer] port: expected an integer"),
        ("[viewer]\nport = 70000\n", "[viewer] port must be between"),
        ("[watch]\nrecursive = 1\n", "[watch] recursive: expected true or false"),
        ("[watch]\nignore = [1]\n", "[watch] ignore: expected a list of a string"),
        ("[library]\nlayout = '{hour}'\n", "[library] layout: unknown field {hour}"),
        ("[ollama]\ntimeout = 0\n", "[ollama] timeout must be positive"),
        ("[ollama]\ntimeout = inf\n", "[ollama] timeout: expected a finite number"),
        ("[watch]\nsettle_seconds = nan\n", "[watch] settle_seconds: expected a finite number"),
        ("[ollama]\ntimeout = 1e308\n", "[ollama] timeout must be at most 86400"),
        ("[paths]\nlibrary = 'inbox'\n", "[paths] library and inbox are the same folder"),
        ("[viewer]\ntile_url = 'https://a.example.com;script-src */{z}/{x}/{y}'\n", "[viewer] tile_url: the host must be a plain name"),
        ("[viewer]\ntile_url = 'ftp://tiles/{z}/{x}/{y}'\n", "[viewer] tile_url: must start with http"),
        ("[viewer]\ntile_url = 'https://tiles.example.org/{z}/{x}.png'\n", "[viewer] tile_url: needs {y}"),
        ("[paths]\nfailed = 'x'\nduplicates = 'x/'\n", "[paths] duplicates and failed are the same folder"),
        ("paths = 3\n", "paths must be a table"),
        ("[paths\n", "not valid TOML"),
    ],
)
def test_bad_config_names_the_key_and_the_file(tmp_path, text, named):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert named in str(info.value)
    assert str(path) in str(info.value)
    assert info.value.exit_code == 2


def test_integers_are_accepted_where_numbers_are_expected(tmp_path):
    config = load_config(write(tmp_path, "[watch]\nsettle_seconds = 3\n"))
    assert config.watch.settle_seconds == 3.0 and isinstance(config.watch.settle_seconds, float)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_rendered_defaults_parse_back_to_the_defaults(tmp_path):
    text = render_default_toml()
    for section, settings in SETTINGS.items():
        assert f"[{section}]" in text
        for setting in settings:
            assert f"# {setting.name} = " in text
    # Uncommenting every key gives exactly the embedded defaults.
    uncommented = "\n".join(line[2:] if " = " in line and line.startswith("# ") else line for line in text.splitlines())
    path = write(tmp_path, uncommented)
    from_file, embedded = load_config(path), load_config(None, cwd=path.parent)
    for section in SETTINGS:
        assert getattr(from_file, section) == getattr(embedded, section), section


def test_usual_tile_urls_are_accepted(tmp_path):
    for url in ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://{s}.tile.example.org/{z}/{x}/{y}.png",
                "http://localhost:8080/tiles/{z}/{x}/{y}.png", ""):
        assert load_config(write(tmp_path, f"[viewer]\ntile_url = '{url}'\n")).viewer.tile_url == url


def test_ollama_host_is_one_url_or_a_list_of_them(tmp_path):
    one = load_config(write(tmp_path, '[ollama]\nhost = "http://gpu1:11434"\n')).ollama
    assert (one.host, one.hosts, one.per_host) == ("http://gpu1:11434", ("http://gpu1:11434",), 1)
    many = load_config(write(tmp_path, '[ollama]\nhost = ["http://gpu1:11434", "gpu2:11434", "https://gpu3"]\nper_host = 2\n')).ollama
    assert (many.hosts, many.per_host) == (("http://gpu1:11434", "gpu2:11434", "https://gpu3"), 2)
    assert load_config(None, cwd=tmp_path).ollama.hosts == ("http://127.0.0.1:11434",)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[ollama]\nhost = []\n", "[ollama] host: the list is empty"),
        ("[ollama]\nhost = ['http://gpu1:11434', 5]\n", "[ollama] host: expected a string or a list of strings"),
        ("[ollama]\nhost = 11434\n", "[ollama] host: expected a string or a list of strings"),
        ("[ollama]\nhost = ['http://gpu1:11434', 'ftp://gpu2']\n", "[ollama] host 'ftp://gpu2': must start with http"),
        ("[ollama]\nhost = ['http://gpu1:99999']\n", "[ollama] host 'http://gpu1:99999': expected an address"),
        ("[ollama]\nhost = ['http://gpu 1:11434']\n", "[ollama] host 'http://gpu 1:11434': expected an address"),
        ("[ollama]\nhost = ['']\n", "[ollama] host '': expected an address"),
        ("[ollama]\nhost = ['http://[::1:11434']\n", "[ollama] host 'http://[::1:11434': expected an address"),
        ("[ollama]\nhost = ['http://gpu1:11434', 'http://gpu1:11434/']\n", "[ollama] host lists 'http://gpu1:11434' twice"),
        ("[ollama]\nper_host = 0\n", "[ollama] per_host must be between 1 and 64"),
        ("[ollama]\nper_host = 1.5\n", "[ollama] per_host: expected an integer"),
    ],
)
def test_bad_ollama_hosts_are_refused_naming_the_key_and_the_file(tmp_path, text, named):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert named in str(info.value) and str(path) in str(info.value)
