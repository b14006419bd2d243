"""A project's customer settings: what the customer may see and do in the project.

``GET api/projects/<id>`` returns them as ``settings``: each permission name mapped to "0" or
"1", and ``available_features`` (the project tabs the customer sees) as PHP stores it, a
serialized array such as ``a:2:{s:16:"project_overview";i:1;s:13:"project_gantt";i:0;}``.

A project PUT turns a permission ON when its name is PRESENT in the ``settings`` object
(whatever the value) and OFF otherwise, takes ``available_features`` as the list of tab slugs
that are on, and switches everything off when ``settings`` is absent. So an update sends back
only the names that are on, never a "0".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FEATURES = "available_features"

SettingsChange = Mapping[str, bool | Mapping[str, bool]]
"""A change to a project's settings: permission name → on/off, and optionally
``"available_features"`` → {tab slug: on/off}. Names not given keep their current value."""

_ON = frozenset({"1", "on", "true", "yes"})


def _is_on(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    return isinstance(value, str) and value.strip().lower() in _ON


class _PhpReader:
    """Reads PHP's serialize() format, left to right in one pass (never eval)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def _expect(self, token: bytes) -> None:
        if not self._data.startswith(token, self._at):
            raise ValueError(f"expected {token!r} at byte {self._at}")
        self._at += len(token)

    def _number_until(self, stop: bytes) -> str:
        end = self._data.find(stop, self._at)
        if end < 0:
            raise ValueError(f"no {stop!r} after byte {self._at}")
        text = self._data[self._at : end].decode("ascii", errors="replace")
        self._at = end + len(stop)
        return text

    def _integer_until(self, stop: bytes) -> int:
        text = self._number_until(stop)
        if not text.lstrip("-").isdigit():
            raise ValueError(f"{text!r} is not a whole number")
        return int(text)

    def scalar(self) -> str | int | float | bool | None:
        kind = self._data[self._at : self._at + 2]
        if kind == b"N;":
            self._at += 2
            return None
        self._at += 2
        if kind == b"i:":
            return self._integer_until(b";")
        if kind == b"b:":
            flag = self._integer_until(b";")
            if flag not in (0, 1):
                raise ValueError("a PHP bool is 0 or 1")
            return flag == 1
        if kind == b"d:":
            return float(self._number_until(b";"))
        if kind == b"s:":
            length = self._integer_until(b":")
            if length < 0 or self._at + 1 + length > len(self._data):
                raise ValueError("a PHP string runs past the end")
            self._expect(b'"')
            text = self._data[self._at : self._at + length].decode("utf-8")
            self._at += length
            self._expect(b'";')
            return text
        raise ValueError(f"unsupported PHP value {kind!r}")

    def flat_array(self) -> dict[str, Any]:
        self._expect(b"a:")
        count = self._integer_until(b":")
        self._expect(b"{")
        result: dict[str, Any] = {}
        for _ in range(count):
            key = self.scalar()
            if not isinstance(key, str | int) or isinstance(key, bool):
                raise ValueError("a PHP array key is a string or a whole number")
            result[str(key)] = self.scalar()
        self._expect(b"}")
        if self._at != len(self._data):
            raise ValueError("text after the PHP array")
        return result


def php_flags(serialized: str) -> dict[str, bool] | None:
    """A PHP-serialized flat array of flags (``a:1:{s:4:"name";i:1;}``) as {name: on}, or None
    when it isn't one."""
    try:
        values = _PhpReader(serialized.strip().encode("utf-8")).flat_array()
    except (ValueError, UnicodeDecodeError):
        return None
    return {name: _is_on(value) for name, value in values.items()}


def _features(value: Any) -> dict[str, bool] | None:
    if isinstance(value, str) and value.strip() in ("", "0"):
        # What PMP stores after a PUT without settings: no tab is shown to the customer.
        return {}
    if isinstance(value, str):
        return php_flags(value)
    if isinstance(value, Mapping):  # a server that unserializes it itself
        return {str(name): _is_on(on) for name, on in value.items()}
    if isinstance(value, list) and all(isinstance(slug, str) for slug in value):
        return dict.fromkeys(value, True)
    return None


@dataclass(frozen=True)
class ProjectSettings:
    """A project's customer settings as read from PMP.

    ``permissions`` maps each permission name (``view_tasks``…) to on/off. ``features`` maps
    each project tab slug (``project_overview``…) to on/off, or is None when PMP's value
    could not be read: then the settings can't be sent back and an update is refused.
    """

    permissions: Mapping[str, bool] = field(default_factory=dict)
    features: Mapping[str, bool] | None = None

    @classmethod
    def from_wire(cls, value: Any) -> ProjectSettings | None:
        """The settings in a project answer's ``settings`` (an object, or rows of name and
        value); None when the answer has none."""
        if isinstance(value, list):
            rows = [row for row in value if isinstance(row, Mapping) and "name" in row]
            value = {str(row["name"]): row.get("value") for row in rows} if rows else None
        if not isinstance(value, Mapping) or not value:
            return None
        permissions = {str(name): _is_on(on) for name, on in value.items() if str(name) != FEATURES}
        return cls(permissions=permissions, features=_features(value.get(FEATURES)))

    def changed(self, change: SettingsChange) -> ProjectSettings:
        """These settings with ``change`` merged over them. A name the project doesn't have
        raises ValueError before anything is sent."""
        permissions = dict(self.permissions)
        features = dict(self.features) if self.features is not None else None
        for name, value in change.items():
            if name == FEATURES:
                if not isinstance(value, Mapping):
                    raise ValueError("available_features takes {tab slug: True/False}")
                if features is None:
                    raise ValueError("the project's tabs could not be read from PMP")
                unknown = sorted(set(value) - set(features))
                if unknown:
                    raise ValueError(f"the project has no tab(s) {', '.join(unknown)}")
                features.update({slug: bool(on) for slug, on in value.items()})
            elif name in permissions:
                if not isinstance(value, bool):
                    raise ValueError(f"project setting {name} takes True or False")
                permissions[name] = value
            else:
                raise ValueError(
                    f"the project has no setting {name}; known: {', '.join(permissions)}"
                )
        return ProjectSettings(permissions=permissions, features=features)

    def wire(self) -> dict[str, str | list[str]]:
        """The ``settings`` object a project PUT takes: every permission that is on (never a
        "0", which PMP would read as on) and the tabs that are on. ValueError when the tabs
        could not be read."""
        if self.features is None:
            raise ValueError("the project's tabs could not be read from PMP")
        body: dict[str, str | list[str]] = {
            name: "1" for name, on in self.permissions.items() if on
        }
        body[FEATURES] = [slug for slug, on in self.features.items() if on]
        return body
