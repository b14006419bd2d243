"""Readers for the operator-facing files (README, docs, Dockerfile, compose, systemd unit), so
tests compare them with the code instead of copying their contents."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))

# The image's virtual environment; its bin/ is first on the image's PATH.
IMAGE_VENV = "/opt/pmp-bot"


def read(relative: str) -> str:
    return (ROOT / relative).read_text(encoding="utf-8")


def section(markdown: str, heading: str) -> str:
    """The text under a `## heading` (or deeper), up to the next heading of its level or
    higher."""
    match = re.search(rf"^(#+) {re.escape(heading)}\n", markdown, flags=re.MULTILINE)
    assert match, f"no heading {heading!r}"
    level = len(match.group(1))
    rest = markdown[match.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, flags=re.MULTILINE)
    return rest if end is None else rest[: end.start()]


def code_blocks(markdown: str, language: str | None = None) -> list[str]:
    """Fenced code blocks, optionally only those tagged with `language`."""
    blocks = []
    for match in re.finditer(r"^```(\w*)\n(.*?)^```", markdown, flags=re.MULTILINE | re.DOTALL):
        if language is None or match.group(1) == language:
            blocks.append(match.group(2))
    return blocks


def shell_lines(markdown: str) -> list[str]:
    """The commands of the `sh` blocks, one per line, continuation lines joined."""
    lines = []
    for block in code_blocks(markdown, "sh"):
        lines += [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]
    return lines


def inline_code(markdown: str) -> list[str]:
    """Every `span` outside fenced blocks."""
    prose = re.sub(r"^```.*?^```", "", markdown, flags=re.MULTILINE | re.DOTALL)
    return re.findall(r"`([^`\n]+)`", prose)


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@dataclass
class Dockerfile:
    """The instructions of a Dockerfile that matter to running the image."""

    args: dict[str, str] = field(default_factory=dict)
    base: str = ""
    env: dict[str, str] = field(default_factory=dict)
    user: str = ""
    volumes: list[str] = field(default_factory=list)
    expose: list[str] = field(default_factory=list)
    workdir: str = ""
    copies: list[list[str]] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)
    healthcheck_options: dict[str, str] = field(default_factory=dict)
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    stopsignal: str = ""

    @property
    def command(self) -> list[str]:
        """What the container runs: ENTRYPOINT followed by CMD."""
        return [*self.entrypoint, *self.cmd]


def _instructions(text: str) -> list[tuple[str, str]]:
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") and not pending:
            continue
        if stripped.startswith("#"):
            continue  # a comment between continuation lines
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        line = (pending + stripped).strip()
        pending = ""
        if line:
            logical.append(line)
    result = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def _exec_form(value: str) -> list[str]:
    parsed = json.loads(value)
    assert isinstance(parsed, list) and all(isinstance(item, str) for item in parsed), value
    return parsed


def _expand(value: str, known: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda match: known.get(match.group(1), match.group(0)), value)


def parse_dockerfile(text: str) -> Dockerfile:
    parsed = Dockerfile()
    for keyword, rest in _instructions(text):
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            parsed.args[name] = default
        elif keyword == "FROM":
            parsed.base = _expand(rest.split()[0], parsed.args)
        elif keyword == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                parsed.env[name] = _expand(value, {"PATH": "$PATH", **parsed.env})
        elif keyword == "USER":
            parsed.user = rest
        elif keyword == "VOLUME":
            parsed.volumes += _exec_form(rest) if rest.startswith("[") else rest.split()
        elif keyword == "EXPOSE":
            parsed.expose += rest.split()
        elif keyword == "WORKDIR":
            parsed.workdir = rest
        elif keyword == "COPY":
            parsed.copies.append(shlex.split(rest))
        elif keyword == "RUN":
            parsed.runs.append(rest)
        elif keyword == "HEALTHCHECK":
            options, _, command = rest.partition("CMD ")
            parsed.healthcheck_options = dict(
                option.removeprefix("--").split("=", 1) for option in options.split()
            )
            parsed.healthcheck = _exec_form(command)
        elif keyword == "ENTRYPOINT":
            parsed.entrypoint = _exec_form(rest)
        elif keyword == "CMD":
            parsed.cmd = _exec_form(rest)
        elif keyword == "STOPSIGNAL":
            parsed.stopsignal = rest
    return parsed


def dockerfile() -> Dockerfile:
    return parse_dockerfile(read("Dockerfile"))


def systemd_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """A unit file as {section: {key: [values in order]}}."""
    unit: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = unit.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return unit
