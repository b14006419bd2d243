"""A project's customer settings: reading PMP's answer (PHP-serialized tabs included), merging
changes, and the `settings` object a PUT takes."""

from __future__ import annotations

from typing import Any

import pytest

from bot.pmp import Project, ProjectSettings
from bot.pmp.project_settings import php_flags
from tests.pmp.conftest import PROJECT_ANSWER, PROJECT_ROW, PROJECT_SETTINGS

# Perfex's default tabs, as a fresh project stores them.
DEFAULT_TABS = (
    'a:15:{s:16:"project_overview";i:1;s:18:"project_milestones";i:1;s:13:"project_gantt";'
    'i:1;s:13:"project_tasks";i:1;s:17:"project_estimates";i:1;s:21:"project_subscriptions";'
    'i:1;s:16:"project_invoices";i:1;s:16:"project_expenses";i:1;s:20:"project_credit_notes";'
    'i:1;s:15:"project_tickets";i:1;s:18:"project_timesheets";i:1;s:13:"project_files";i:1;'
    's:19:"project_discussions";i:1;s:13:"project_notes";i:1;s:16:"project_activity";i:1;}'
)


def test_perfex_default_tabs_are_read() -> None:
    tabs = php_flags(DEFAULT_TABS)
    assert tabs is not None
    assert len(tabs) == 15
    assert all(tabs.values())
    assert list(tabs)[:2] == ["project_overview", "project_milestones"]


@pytest.mark.parametrize(
    ("serialized", "expected"),
    [
        ('a:2:{s:1:"a";i:1;s:1:"b";i:0;}', {"a": True, "b": False}),
        ('a:2:{s:1:"a";b:1;s:1:"b";b:0;}', {"a": True, "b": False}),
        ('a:2:{s:1:"a";s:1:"1";s:1:"b";N;}', {"a": True, "b": False}),
        ("a:1:{i:7;i:1;}", {"7": True}),
        ('a:1:{s:2:"é";i:1;}', {"é": True}),  # lengths are in bytes
        ("a:0:{}", {}),
        ('  a:1:{s:1:"a";i:1;}\n', {"a": True}),
    ],
)
def test_serialized_flags(serialized: str, expected: dict[str, bool]) -> None:
    assert php_flags(serialized) == expected


@pytest.mark.parametrize(
    "serialized",
    [
        "",
        "not php",
        'a:2:{s:1:"a";i:1;}',  # says two, holds one
        'a:1:{s:1:"a";i:1;',  # cut short
        'a:1:{s:5:"a";i:1;}',  # wrong string length
        'a:1:{s:1:"a";a:1:{s:1:"b";i:1;}}',  # nested array
        'a:1:{s:1:"a";i:1;}extra',
        'a:1:{s:1:"a";i:x;}',
        'a:1:{s:1:"a";b:2;}',
        'O:8:"stdClass":1:{s:1:"a";i:1;}',
        'a:999999999:{s:1:"a";i:1;}',
        'a:1:{s:-1:"";i:1;}',
        'a:1:{s:99999999999:"a";i:1;}',
    ],
)
def test_anything_else_is_unreadable(serialized: str) -> None:
    assert php_flags(serialized) is None


def test_a_huge_broken_value_is_refused_in_one_pass() -> None:
    # Every step moves forward: a count of millions over a short body ends at its end.
    assert php_flags("a:5000000:{" + 's:1:"a";i:1;' * 100_000 + "}") is None


def test_settings_come_from_the_project_answer() -> None:
    project = Project.from_wire(PROJECT_ANSWER)
    assert project.settings == ProjectSettings(
        permissions={
            "view_tasks": True,
            "create_tasks": False,
            "view_milestones": True,
            "hide_tasks_on_main_tasks_table": False,
        },
        features={
            "project_overview": True,
            "project_gantt": False,
            "project_tasks": True,
            "project_files": False,
        },
    )
    assert Project.from_wire(PROJECT_ROW).settings is None  # list rows have none


@pytest.mark.parametrize(
    ("features", "expected"),
    [
        (
            {"project_overview": 1, "project_gantt": "0"},
            {"project_overview": True, "project_gantt": False},
        ),
        (["project_overview"], {"project_overview": True}),
        (None, None),
        (12, None),
    ],
)
def test_tabs_a_server_sends_unserialized_are_read_too(features: Any, expected: Any) -> None:
    settings = ProjectSettings.from_wire({"view_tasks": "1", "available_features": features})
    assert settings is not None
    assert settings.features == expected


def test_settings_as_name_and_value_rows_are_read() -> None:
    rows = [
        {"id": "1", "project_id": "4", "name": "view_tasks", "value": "1"},
        {"id": "2", "project_id": "4", "name": "available_features", "value": "a:0:{}"},
    ]
    settings = ProjectSettings.from_wire(rows)
    assert settings == ProjectSettings(permissions={"view_tasks": True}, features={})


@pytest.mark.parametrize("value", [None, {}, [], "text", [1, 2]])
def test_no_settings(value: Any) -> None:
    assert ProjectSettings.from_wire(value) is None


def test_the_wire_form_names_only_what_is_on() -> None:
    settings = ProjectSettings.from_wire(PROJECT_SETTINGS)
    assert settings is not None
    assert settings.wire() == {
        "view_tasks": "1",
        "view_milestones": "1",
        "available_features": ["project_overview", "project_tasks"],
    }
    assert "0" not in str(settings.wire())


def test_changes_merge_and_unknown_names_are_refused() -> None:
    settings = ProjectSettings.from_wire(PROJECT_SETTINGS)
    assert settings is not None
    changed = settings.changed(
        {"create_tasks": True, "available_features": {"project_overview": False}}
    )
    assert changed.permissions["create_tasks"] is True
    assert changed.permissions["view_tasks"] is True
    assert changed.features == {**dict(settings.features or {}), "project_overview": False}
    assert settings.permissions["create_tasks"] is False  # the read settings are unchanged
    for bad in ({"nope": True}, {"available_features": {"nope": True}}, {"view_tasks": "1"}):
        with pytest.raises(ValueError):
            settings.changed(bad)  # type: ignore[arg-type]


def test_unreadable_tabs_cannot_be_sent() -> None:
    settings = ProjectSettings.from_wire({"view_tasks": "1", "available_features": "broken"})
    assert settings is not None
    assert settings.features is None
    with pytest.raises(ValueError):
        settings.wire()
    with pytest.raises(ValueError):
        settings.changed({"available_features": {"project_overview": True}})


def test_tabs_switched_off_by_a_settings_less_put_are_sent_back_off() -> None:
    # PMP stores "0" for the tabs after a project PUT without settings: none is shown.
    settings = ProjectSettings.from_wire({"view_tasks": "1", "available_features": "0"})
    assert settings is not None and settings.features == {}
    assert settings.wire() == {"view_tasks": "1", "available_features": []}
