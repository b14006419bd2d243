from __future__ import annotations

from pathlib import Path

from bot.config import Settings, load_settings

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_env_example_loads_as_the_defaults() -> None:
    assert load_settings(env_file=ENV_EXAMPLE) == load_settings(env_file=None)


def test_env_example_mentions_every_setting() -> None:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    missing = [name.upper() for name in Settings.model_fields if f"{name.upper()}=" not in text]
    assert missing == []
