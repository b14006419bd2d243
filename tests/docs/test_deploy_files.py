"""The deployment files agree with the code: the image, compose file, systemd unit and proxy
examples run real commands with real settings, on the addresses and paths pmp-bot serves."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from bot.config import Settings, load_settings
from bot.run.common import EXIT_SETTINGS
from bot.slack.app import INSTALL_PATH, REDIRECT_PATH
from bot.slack.web import EVENTS_PATH
from tests.docs.files import (
    IMAGE_VENV,
    ROOT,
    dockerfile,
    read,
    section,
    shell_lines,
    systemd_unit,
)

SETTINGS = {name.upper() for name in Settings.model_fields}
DEFAULTS = Settings.model_construct()
# Python's and pip's own variables an image may set.
RUNTIME_VARIABLES = {
    "PATH",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONUNBUFFERED",
    "PIP_NO_CACHE_DIR",
    "PIP_DISABLE_PIP_VERSION_CHECK",
}
UNIT = systemd_unit(read("deploy/pmp-bot.service"))
README = read("README.md")


# ------------------------------------------------------------------------------ Dockerfile


def test_the_image_serves_on_every_interface_as_a_user_with_a_data_volume() -> None:
    image = dockerfile()
    assert image.base == "python:3.11-slim"
    assert image.command == ["pmp-bot", "serve"]
    assert image.env["PATH"].startswith(f"{IMAGE_VENV}/bin:")
    assert any(f"-m venv {IMAGE_VENV}" in run for run in image.runs)
    assert image.user and image.user not in ("root", "0")
    assert any("useradd --uid 10001 --user-group" in run for run in image.runs)
    assert image.env["HOST"] == "0.0.0.0"
    assert image.volumes == [image.env["PMP_BOT_DATA_DIR"]]
    assert image.expose == [image.env["PORT"]]
    assert image.stopsignal == "SIGTERM"
    unknown = set(image.env) - SETTINGS - RUNTIME_VARIABLES
    assert not unknown, f"the Dockerfile sets variables pmp-bot doesn't read: {unknown}"
    # The image's environment is a valid configuration by itself.
    settings = load_settings(
        env_file=None, **{k.lower(): v for k, v in image.env.items() if k in SETTINGS}
    )
    assert settings.port == int(image.env["PORT"])


def test_the_healthcheck_asks_healthz_on_the_port_served() -> None:
    image = dockerfile()
    assert image.healthcheck[:2] == ["python3", "-c"]
    code = image.healthcheck[2]
    assert "http://127.0.0.1:%s/healthz" in code and "os.environ.get('PORT', '3000')" in code
    assert image.env["PORT"] == "3000"
    # A busy host still answers within the timeout; the start period covers migrations.
    assert image.healthcheck_options["timeout"] == "5s"
    assert image.healthcheck_options["start-period"] == "30s"


def test_the_image_is_built_from_the_package_only_and_never_gets_secrets() -> None:
    image = dockerfile()
    sources = [path for copy in image.copies for path in copy[:-1]]
    assert set(sources) == {
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "manifest.yml",
        "manifest.socket.yml",
        "bot",
        "handlers",
    }
    for path in sources:
        assert (ROOT / path).exists()
    ignored = read(".dockerignore").splitlines()
    for secret in (".env", "data/", "*.sqlite3", "secret.key", ".venv/", ".git/"):
        assert secret in ignored
    assert not set(ignored) & set(sources)


# ------------------------------------------------------------------------------ compose


def _compose() -> dict[str, dict[str, dict[str, object]]]:
    loaded = yaml.safe_load(read("compose.yaml"))
    assert isinstance(loaded, dict)
    return loaded


def _interpolate(value: str, env: dict[str, str]) -> str:
    # Compose's ${NAME:-default} and ${NAME:?error}.
    def one(match: re.Match[str]) -> str:
        return env.get(match.group(1)) or (match.group(3) if match.group(2) == ":-" else "")

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, value)


def test_compose_passes_env_file_settings_but_keeps_the_images_address_and_volume() -> None:
    bot = _compose()["services"]["pmp-bot"]
    environment = bot["environment"]
    assert isinstance(environment, dict)
    assert set(environment) <= SETTINGS
    # Everything in .env reaches pmp-bot; `environment` wins over it for what the image and
    # the database service decide.
    assert bot["env_file"] == ".env"
    image = dockerfile()
    for name in ("HOST", "PORT", "PMP_BOT_DATA_DIR"):
        assert str(environment[name]) == image.env[name], name
    assert str(environment["PMP_BOT_SECRET_KEY"]).startswith("${PMP_BOT_SECRET_KEY:?")
    assert bot["build"] == "." and (ROOT / "Dockerfile").is_file()


def test_compose_database_url_reaches_the_db_service_as_its_user() -> None:
    compose = _compose()
    bot, db = compose["services"]["pmp-bot"], compose["services"]["db"]
    db_env = db["environment"]
    assert isinstance(db_env, dict) and isinstance(bot["environment"], dict)
    env = {"POSTGRES_PASSWORD": "s3cret0", "PMP_BOT_SECRET_KEY": "unused"}
    url = urlsplit(_interpolate(str(bot["environment"]["DATABASE_URL"]), env))
    assert url.hostname == "db" and url.port == 5432
    assert url.username == db_env["POSTGRES_USER"] and url.password == "s3cret0"
    assert url.path == "/" + str(db_env["POSTGRES_DB"])
    assert _interpolate(str(db_env["POSTGRES_PASSWORD"]), env) == "s3cret0"
    assert bot["depends_on"] == {"db": {"condition": "service_healthy"}}
    # pmp-bot takes that URL (and asks for the key that goes with it).
    settings = load_settings(
        env_file=None,
        database_url=url.geturl(),
        pmp_bot_secret_key="0" * 43 + "=",
    )
    assert settings.async_database_url.startswith("postgresql+asyncpg://pmpbot:s3cret0@db:5432/")


def test_compose_publishes_the_image_port_on_loopback_and_keeps_data_in_the_volume() -> None:
    bot = _compose()["services"]["pmp-bot"]
    image = dockerfile()
    assert bot["ports"] == [f"127.0.0.1:3000:{image.env['PORT']}"]
    assert bot["volumes"] == [f"pmp-bot-data:{image.volumes[0]}"]
    assert set(_compose()["volumes"]) == {"pmp-bot-data", "db-data"}


# ------------------------------------------------------------------------------ systemd


def test_the_unit_runs_serve_from_the_venv_the_readme_installs() -> None:
    service = UNIT["Service"]
    (exec_start,) = service["ExecStart"]
    program, *arguments = exec_start.split()
    assert arguments == ["serve"]
    venv = str(Path(program).parent.parent)
    install = [line for line in shell_lines(section(README, "Deploying")) if "-m venv" in line]
    assert install == [f"python3 -m venv {venv} && {venv}/bin/pip install -q ."]
    assert Path(program).name == "pmp-bot"
    # The same program in this checkout's venv runs the same subcommand.
    local = Path(sys.executable).parent / "pmp-bot"
    help_text = subprocess.run(
        [str(local), *arguments, "--help"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "usage: pmp-bot serve" in help_text


def test_the_unit_sets_only_real_settings_and_stops_restarting_on_a_bad_one() -> None:
    service = UNIT["Service"]
    names = {value.split("=", 1)[0] for value in service["Environment"]}
    assert names <= SETTINGS
    assert service["RestartPreventExitStatus"] == [str(EXIT_SETTINGS)]
    data_dir = next(v for v in service["Environment"] if v.startswith("PMP_BOT_DATA_DIR="))
    assert data_dir == f"PMP_BOT_DATA_DIR=/var/lib/{service['StateDirectory'][0]}"
    assert service["WorkingDirectory"] == ["/var/lib/pmp-bot"]  # no .env there
    assert service["EnvironmentFile"] == ["/etc/pmp-bot/pmp-bot.env"]
    assert "/etc/pmp-bot/pmp-bot.env" in section(README, "Deploying")
    # Behind the proxy: the unit leaves HOST at its loopback default.
    assert "HOST" not in names and DEFAULTS.host == "127.0.0.1"


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    text = read("deploy/pmp-bot.service")
    # The unit's program as installed here; systemd checks that it exists and runs.
    local = str(Path(sys.executable).parent.parent)
    unit = tmp_path / "pmp-bot.service"
    unit.write_text(text.replace(IMAGE_VENV + "/.venv", local))
    checked = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stderr
    # It would have said so about a program that isn't there.
    unit.write_text(text.replace(IMAGE_VENV + "/.venv", str(tmp_path / "nowhere")))
    missing = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert missing.returncode != 0 and "is not executable" in missing.stderr


# ------------------------------------------------------------------------------ proxies


def _manifest_host() -> str:
    host = urlsplit(re.findall(r"https://[^\s/]+", read("manifest.yml"))[0]).hostname
    assert host
    return host


def test_caddy_forwards_slacks_paths_to_the_default_address() -> None:
    caddyfile = read("deploy/Caddyfile")
    assert re.search(rf"^{re.escape(_manifest_host())} {{", caddyfile, flags=re.MULTILINE)
    # The handle block (closed at its own indentation) that holds the reverse_proxy.
    blocks = re.findall(r"^\thandle (/\S+)\* \{\n(.*?)^\t\}", caddyfile, re.DOTALL | re.MULTILINE)
    forwarded = [(prefix, body) for prefix, body in blocks if "reverse_proxy" in body]
    assert len(forwarded) == 1
    prefix, body = forwarded[0]
    upstream = re.findall(r"reverse_proxy (\S+)", body)[0]
    assert upstream == f"{DEFAULTS.host}:{DEFAULTS.port}"
    for path in (EVENTS_PATH, INSTALL_PATH, REDIRECT_PATH):
        assert path.startswith(prefix)
    assert not "/healthz".startswith(prefix) and not "/metrics".startswith(prefix)
    assert caddyfile.count("reverse_proxy") == 1


def test_nginx_forwards_slacks_paths_to_the_default_address() -> None:
    conf = read("deploy/nginx.conf")
    assert conf.count(f"server_name {_manifest_host()};") == 2
    locations = dict(re.findall(r"location (\S+) {(.*?)}", conf, flags=re.DOTALL))
    proxied = {prefix: body for prefix, body in locations.items() if "proxy_pass" in body}
    assert list(proxied) == ["/slack/"]
    assert f"proxy_pass http://{DEFAULTS.host}:{DEFAULTS.port};" in proxied["/slack/"]
    for path in (EVENTS_PATH, INSTALL_PATH, REDIRECT_PATH):
        assert path.startswith("/slack/")
    assert "return 404;" in locations["/"]
    # Bodies past pmp-bot's own 1 MB limit stop at the proxy.
    assert "client_max_body_size 1m;" in conf


def test_compose_and_systemd_give_pmp_bot_time_to_finish_what_it_acknowledged() -> None:
    # serve waits up to 15 s for requests in flight, then up to 15 s for acknowledged lookups;
    # Docker's default would kill it after 10 s.
    grace = str(_compose()["services"]["pmp-bot"]["stop_grace_period"])
    assert re.fullmatch(r"\d+s", grace) and int(grace[:-1]) >= 30, grace
    unit = read("deploy/pmp-bot.service")
    stop = re.search(r"^TimeoutStopSec=(\d+)$", unit, re.MULTILINE)
    assert stop is not None and int(stop.group(1)) >= 30
