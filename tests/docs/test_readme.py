"""The README and docs/ as an operator follows them: links lead somewhere, the commands and
settings they name exist, the quick start is what CI runs, and the Slack app steps match the
manifests."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet

from bot.cli import build_parser
from bot.config import DEFAULT_SLACK_SCOPES, Settings
from bot.grammar import CommandAction, RecordKind, parse
from tests.docs.files import (
    DOC_FILES,
    ROOT,
    code_blocks,
    github_anchor,
    inline_code,
    read,
    section,
    shell_lines,
)

SETTINGS = {name.upper() for name in Settings.model_fields}
# Variables the docs name that are not pmp-bot's own settings.
OTHER_VARIABLES = {"TEST_DATABASE_URL", "POSTGRES_PASSWORD"}
README = read("README.md")


def _doc_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return {github_anchor(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)}


@pytest.mark.parametrize("doc", DOC_FILES, ids=_doc_id)
def test_every_link_between_the_docs_resolves(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [link for link in links if not re.match(r"[a-z]+:", link)]
    assert local or doc.name != "README.md"
    for link in local:
        target, _, anchor = link.partition("#")
        path = (doc.parent / target).resolve() if target else doc
        assert path.is_file(), f"{_doc_id(doc)} links to {link}, which doesn't exist"
        if anchor:
            assert anchor in _anchors(path), f"{_doc_id(doc)} links to a missing heading: {link}"


def test_the_readme_links_every_doc() -> None:
    linked = set(re.findall(r"\]\((docs/[^)#]+)", README))
    assert linked == {_doc_id(doc) for doc in DOC_FILES if doc.name != "README.md"}


def test_the_quick_start_is_on_top_and_its_test_command_is_what_ci_runs() -> None:
    headings = re.findall(r"^## (.+)$", README, flags=re.MULTILINE)
    assert headings[0] == "Quick start"
    commands = code_blocks(section(README, "Quick start"), "sh")[0].splitlines()
    ci_lines = read(".ci/run").splitlines()
    test_command = next(line for line in commands if "pytest" in line)
    assert test_command in ci_lines  # verbatim, as CI runs it
    assert commands[0].endswith(".venv/bin/pmp-bot shell")


def test_the_operator_sections_are_there() -> None:
    headings = re.findall(r"^## (.+)$", README, flags=re.MULTILINE)
    for wanted in (
        "What PMP needs",
        "Creating the Slack app",
        "Settings",
        "Deploying",
        "Upgrading",
        "Backups",
        "Troubleshooting",
    ):
        assert wanted in headings


def _variables(text: str) -> set[str]:
    names = set(re.findall(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b", text))
    return names | set(re.findall(r"\b(HOST|PORT)\b(?==|`)", text))


@pytest.mark.parametrize("doc", DOC_FILES, ids=_doc_id)
def test_the_docs_name_only_real_settings(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    spans = " ".join([*inline_code(text), *code_blocks(text)])
    unknown = _variables(spans) - SETTINGS - OTHER_VARIABLES
    assert not unknown, f"{_doc_id(doc)} names settings pmp-bot doesn't have: {sorted(unknown)}"


def test_every_setting_has_a_row_in_the_settings_tables() -> None:
    rows = " ".join(
        line for line in section(README, "Settings").splitlines() if line.startswith("| `")
    )
    missing = {name for name in SETTINGS if f"`{name}`" not in rows}
    assert not missing, f"settings missing from the README's tables: {sorted(missing)}"


def _pmp_bot_invocations() -> list[str]:
    found = []
    for doc in DOC_FILES:
        text = doc.read_text(encoding="utf-8")
        for span in [*inline_code(text), *shell_lines(text)]:
            # The command itself (`pmp-bot …`, `.venv/bin/pmp-bot …`), not a container's name.
            found += re.findall(r"(?:^|/)pmp-bot (\w[^`;&|]*)", span)
    return found


def test_the_pmp_bot_commands_the_docs_show_exist_with_their_options() -> None:
    parser = build_parser()
    subparsers = next(
        action for action in parser._actions if action.dest == "command"
    )  # argparse keeps subparsers as a private action
    choices: dict[str, object] = dict(subparsers.choices)  # type: ignore[call-overload]
    invocations = _pmp_bot_invocations()
    assert {"serve", "socket", "shell", "sandbox", "reencrypt"} <= {
        words.split()[0] for words in invocations
    }
    for words in invocations:
        name, *rest = words.split()
        assert name in choices, f"the docs show `pmp-bot {words}`, which doesn't exist"
        accepted = set(choices[name]._option_string_actions)  # type: ignore[attr-defined]
        for option in re.findall(r"--[a-z][a-z-]*", " ".join(rest)):
            assert option in accepted, f"`pmp-bot {name}` has no option {option}"


def _slash_commands() -> list[str]:
    commands = []
    for doc in DOC_FILES:
        for span in inline_code(doc.read_text(encoding="utf-8")):
            if span.startswith("/pmp") and "failed with the error" not in span:
                commands.append(span)
    return commands


def test_every_slash_command_the_docs_show_is_understood() -> None:
    commands = _slash_commands()
    assert "/pmp notify #channel" in commands
    for command in commands:
        text = re.sub(r"\[[^\]]*\]", "", command.removeprefix("/pmp")).strip()
        kinds = [kind.value for kind in RecordKind] if "<record>" in text else [""]
        for kind in kinds:
            parsed = parse(text.replace("<record>", kind))
            assert parsed.action is not CommandAction.UNKNOWN, command
            assert parsed.problem is None, (command, parsed.problem)


def test_the_key_command_uses_the_venvs_python_and_makes_a_key() -> None:
    spans = [span for span in inline_code(README) if "Fernet.generate_key()" in span]
    spans += [line for line in shell_lines(README) if "Fernet.generate_key()" in line]
    assert spans and all(span.startswith(".venv/bin/python -c ") for span in spans)
    code = spans[0].removeprefix(".venv/bin/python -c ").strip('"')
    made = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    Fernet(made.stdout.strip().encode())  # raises unless it is a key


# ---------------------------------------------------------------- Creating the Slack app


def _manifest(name: str) -> dict[str, object]:
    loaded = yaml.safe_load(read(name))
    assert isinstance(loaded, dict)
    return loaded


def test_token_rotation_is_chosen_before_the_manifest_is_pasted() -> None:
    steps = section(README, "Creating the Slack app")
    paste = steps.index("Create New App")
    for choice in ("`token_rotation_enabled: false`", "`token_rotation_enabled: true`"):
        assert steps.index(choice) < paste
    assert steps.index("manifest.socket.yml") < paste
    # What the steps say each manifest already holds.
    settings = _manifest("manifest.yml")["settings"]
    socket_settings = _manifest("manifest.socket.yml")["settings"]
    assert isinstance(settings, dict) and isinstance(socket_settings, dict)
    assert settings["token_rotation_enabled"] is True  # "keep ... true" for OAuth
    assert socket_settings["token_rotation_enabled"] is False  # "already off"
    assert socket_settings["socket_mode_enabled"] is True
    assert (
        settings["org_deploy_enabled"] is False and socket_settings["org_deploy_enabled"] is False
    )


def test_the_steps_name_the_manifests_address_paths_and_shortcuts() -> None:
    steps = section(README, "Creating the Slack app")
    manifest_text = read("manifest.yml")
    address = re.search(r"`(https://[^`/]+)`", steps)
    assert address and manifest_text.count(address.group(1)) >= 4
    urls = re.findall(r"https://pmp-bot\.example\.com(/[\w/]+)", manifest_text)
    assert set(urls) == {"/slack/events", "/slack/oauth_redirect"}
    assert "`/slack/events`" in steps and "/slack/install" in steps
    shortcuts = _manifest("manifest.yml")["features"]["shortcuts"]  # type: ignore[index]
    for shortcut in shortcuts:
        assert f"**{shortcut['name']}**" in README


def test_the_scopes_the_readme_explains_are_the_manifests_and_the_defaults() -> None:
    steps = section(README, "Creating the Slack app")
    explained = re.search(r"The scopes the manifest asks for, and why:(.*?)\n\n", steps, re.DOTALL)
    assert explained
    named = re.findall(r"`([a-z:.]+)`\s\(", explained.group(1))
    for name in ("manifest.yml", "manifest.socket.yml"):
        scopes = _manifest(name)["oauth_config"]["scopes"]["bot"]  # type: ignore[index]
        assert named == scopes
    assert tuple(named) == DEFAULT_SLACK_SCOPES


def test_the_license_is_the_one_pyproject_declares() -> None:
    project = tomllib.loads(read("pyproject.toml"))["project"]
    license_text = read("LICENSE")
    assert project["license"] == {"text": "MIT"}
    assert license_text.startswith("MIT License\n")
    assert re.search(r"Copyright \(c\) \d{4} pmp-bot contributors", license_text)
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in license_text


def _requirement_name(requirement: str) -> str:
    name = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert name, requirement
    return name.group(0).lower()


def test_the_readme_says_why_each_dependency_is_there() -> None:
    project = tomllib.loads(read("pyproject.toml"))["project"]
    table = section(README, "Dependencies and why")
    rows = re.findall(r"^\| ([^|]+?) \|", table, re.MULTILINE)
    explained = {row.split()[0].lower() for row in rows if row not in ("Package", "---")}
    runtime = {_requirement_name(r) for r in project["dependencies"]}
    assert runtime - explained == set(), "runtime dependencies the README doesn't explain"
    assert explained - runtime == set(), "the README explains packages pmp-bot doesn't install"
    dev_line = " ".join(table.split("Development only")[1].split())
    for requirement in project["optional-dependencies"]["dev"]:
        name = _requirement_name(requirement)
        if name.startswith("types-"):
            continue  # type stubs go with the package they describe
        assert name.lower() in dev_line.lower(), f"{name} is not explained"
