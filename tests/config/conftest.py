"""Settings tests never see the developer's environment, `.env` file or data directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
        monkeypatch.delenv(name, raising=False)
    # The default data directory is relative: keep it inside the test's own directory.
    monkeypatch.chdir(tmp_path)
    yield tmp_path
