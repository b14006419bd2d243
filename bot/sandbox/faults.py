"""Injected failures, so the bot can be tested against a slow or broken PMP server."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields

_SWITCHES = frozenset({"html_500", "hang", "dev_mode"})


@dataclass
class SandboxFaults:
    """Faults applied to every API request; the server reads them afresh for each request.

    ``latency``: seconds to wait before answering. ``error_rate``: share (0..1) of requests
    answered by an HTML 500 page. ``html_500``: answer every request with that page.
    ``hang``: never answer; the request stays open until the client gives up.
    ``dev_mode``: a server left in development mode: lead, milestone, ticket and project
    writes print PHP warnings as HTML before their JSON (HTTP 200, text/html), and PHP errors
    show CodeIgniter's error page instead of an empty 500.
    """

    latency: float = 0.0
    error_rate: float = 0.0
    html_500: bool = False
    hang: bool = False
    dev_mode: bool = False

    def update(self, changes: Mapping[str, object]) -> None:
        """Apply a partial change (e.g. the JSON body of ``POST /_sandbox/faults``).

        Raises ValueError naming the first unknown field or bad value; nothing changes then.
        """
        known = {field.name for field in fields(self)}
        checked: dict[str, float | bool] = {}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(known))}")
            if name in _SWITCHES:
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false")
                checked[name] = value
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number")
            number = float(value)
            if not math.isfinite(number) or number < 0:
                raise ValueError(f"{name} must be a finite number >= 0")
            if name == "error_rate" and number > 1:
                raise ValueError("error_rate must be between 0 and 1")
            checked[name] = number
        for name, value in checked.items():
            setattr(self, name, value)

    def clear(self) -> None:
        """Switch every fault off."""
        self.latency = 0.0
        self.error_rate = 0.0
        self.html_500 = False
        self.hang = False
        self.dev_mode = False

    def as_dict(self) -> dict[str, float | bool]:
        return {
            "latency": self.latency,
            "error_rate": self.error_rate,
            "html_500": self.html_500,
            "hang": self.hang,
            "dev_mode": self.dev_mode,
        }
