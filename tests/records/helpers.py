"""Submitted modal state as Slack sends it, built from plain answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.blocks.fields import FormSpec, Kind
from bot.names import Choice

_TYPES = {
    Kind.TEXT: "plain_text_input",
    Kind.MULTILINE: "plain_text_input",
    Kind.INTEGER: "number_input",
    Kind.DECIMAL: "number_input",
    Kind.EMAIL: "email_text_input",
    Kind.URL: "url_text_input",
    Kind.DATE: "datepicker",
    Kind.SELECT: "static_select",
    Kind.MULTI_SELECT: "multi_static_select",
    Kind.EXTERNAL: "external_select",
    Kind.EXTERNAL_MULTI: "multi_external_select",
    Kind.CHECKBOX: "checkboxes",
}


def _option(value: str, label: str | None = None) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": label or value}, "value": value}


def entry(kind: Kind, answer: Any) -> dict[str, Any]:
    """One `state.values` entry: what Slack sends for an input holding `answer`
    (None: left empty)."""
    found: dict[str, Any] = {"type": _TYPES[kind]}
    if kind is Kind.DATE:
        found["selected_date"] = answer
    elif kind in (Kind.SELECT, Kind.EXTERNAL):
        if isinstance(answer, Choice):
            found["selected_option"] = _option(answer.value, answer.label)
        else:
            found["selected_option"] = None if answer is None else _option(str(answer))
    elif kind in (Kind.MULTI_SELECT, Kind.EXTERNAL_MULTI):
        found["selected_options"] = [
            _option(v.value, v.label) if isinstance(v, Choice) else _option(str(v))
            for v in answer or []
        ]
    elif kind is Kind.CHECKBOX:
        found["selected_options"] = [_option("on")] if answer else []
    else:
        found["value"] = None if answer is None else str(answer)
    return found


def state_of(form: FormSpec, answers: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The `view.state.values` of a submitted form: every input, empty unless answered."""
    return {
        spec.block_id(form.id): {spec.action_id: entry(spec.kind, answers.get(spec.name))}
        for spec in form.fields
    }
