"""The `/pmp settings` form: names for ticket ids (one `id = name` line each, read back by
bot.tickets.parse_settings_text), the admin's choice whether edits may cost the files of
record #1 (PMP's API module defect), and the workspace options (link previews, who may
subscribe channels, how often PMP is polled). Its fields, reading it back, and its modals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks.fields import FormField, FormSpec, Kind, build_inputs, read_form
from bot.blocks.ids import TicketForm
from bot.grammar import SLASH_COMMAND
from bot.names import TICKET_SETTING_KINDS, Choice, TicketSettingKind, TicketSettings
from bot.text import safe
from bot.tickets import (
    SETTING_EXAMPLES,
    SETTING_LABELS,
    SETTINGS_TEXT_MAX,
    parse_settings_text,
    settings_text,
)

SETTINGS_TITLE = "Ticket settings"


# ------------------------------------------------------------------------- ticket names


SETTINGS_FORM_ID = "ticket_settings"


_SETTING_HINTS: Mapping[TicketSettingKind, str] = {
    "departments": "As set up in PMP under Setup → Support → Departments.",
    "priorities": "A fresh PMP has 1 = Low, 2 = Medium, 3 = High.",
    "services": "As set up in PMP under Setup → Support → Services.",
    "statuses": "A fresh PMP has 1 = Open, 2 = In progress, 3 = Answered, 4 = On Hold, 5 = Closed.",
}


def settings_spec() -> FormSpec:
    return FormSpec(
        SETTINGS_FORM_ID,
        [
            FormField(
                kind,
                SETTING_LABELS[kind],
                Kind.MULTILINE,
                max_length=SETTINGS_TEXT_MAX,
                placeholder=SETTING_EXAMPLES[kind],
                hint=_SETTING_HINTS[kind],
            )
            for kind in TICKET_SETTING_KINDS
        ],
    )


def settings_values(settings: TicketSettings) -> dict[str, str]:
    """What the settings form shows for `settings`."""
    return {kind: settings_text(getattr(settings, kind)) for kind in TICKET_SETTING_KINDS}


@dataclass(frozen=True)
class SettingsReading:
    settings: TicketSettings | None
    errors: dict[str, str]


def _state(view: Mapping[str, Any]) -> Mapping[str, Any]:
    state = view.get("state") or {}
    values = state.get("values") if isinstance(state, Mapping) else None
    return values if isinstance(values, Mapping) else {}


def read_settings(view: Mapping[str, Any]) -> SettingsReading:
    """The ticket settings of a submitted settings form, or an error per input naming the
    first bad line."""
    spec = settings_spec()
    result = read_form(spec, _state(view))
    errors = dict(result.errors)
    maps: dict[str, dict[int, str]] = {}
    for kind in TICKET_SETTING_KINDS:
        block = spec.field(kind).block_id(spec.id)
        if block in errors:
            continue
        names, error = parse_settings_text(kind, result.values.get(kind))
        if error:
            errors[block] = error
        maps[kind] = names
    if errors:
        return SettingsReading(None, errors)
    return SettingsReading(TicketSettings(**maps), {})


# ------------------------------------------------------------- edits that cost record #1's files


FILE_LOSS_SETTING_FORM = "edits"


FILE_LOSS_SETTING = "allow_first_record_file_loss"


FILE_LOSS_SETTING_WARNING = (
    "PMP's API module deletes the files attached to lead #1, project #1 or ticket #1 every "
    "time a lead, project or ticket is updated (a defect of the module; pmp-bot's README "
    "explains it and the one-line fix a PMP administrator can make). So pmp-bot refuses such "
    "edits while record #1 has files or PMP can't tell. Allowing them means every lead, "
    "project or ticket edit saved from Slack deletes those files, for good, until the module "
    "is fixed."
)


def file_loss_setting_spec() -> FormSpec:
    """The admin's checkbox allowing edits that cost the files of record #1."""
    return FormSpec(
        FILE_LOSS_SETTING_FORM,
        [
            FormField(
                FILE_LOSS_SETTING,
                "Allow lead, project and ticket edits even though PMP's API module deletes "
                "the files of lead/project/ticket #1",
                Kind.CHECKBOX,
                # A checkbox shows its hint as the option's text (at most 75 characters).
                hint="Allow them: the files of lead, project and ticket #1 will be lost",
            )
        ],
    )


def read_file_loss_setting(view: Mapping[str, Any]) -> bool:
    """Whether the submitted settings view has the checkbox ticked."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, Mapping) else None
    if not isinstance(values, Mapping):
        return False
    return bool(read_form(file_loss_setting_spec(), values).values.get(FILE_LOSS_SETTING))


# ------------------------------------------------------------------------- workspace options


OPTIONS_FORM = "workspace"
UNFURL_MODE = "unfurl_mode"
UNFURL_IN_SLACK_CONNECT = "unfurl_in_slack_connect"
MEMBERS_MAY_SUBSCRIBE = "members_may_subscribe"
POLL_INTERVAL = "poll_interval_seconds"
# The range storage accepts (bot.storage.workspaces; a test keeps them equal).
POLL_INTERVAL_MIN_S = 15
POLL_INTERVAL_MAX_S = 3600

UNFURL_MODE_CHOICES: tuple[Choice, ...] = (
    Choice("off", "Off"),
    Choice("internal", "Internal channels only (channels pmp-bot is in)"),
    Choice("everywhere", "Everywhere (also direct messages, channels without pmp-bot)"),
)


@dataclass(frozen=True)
class WorkspaceOptions:
    """The workspace options the settings form shows and saves."""

    unfurl_mode: str = "internal"
    unfurl_in_slack_connect: bool = False
    members_may_subscribe: bool = False
    poll_interval_seconds: int = 60


def options_spec() -> FormSpec:
    return FormSpec(
        OPTIONS_FORM,
        [
            FormField(
                UNFURL_MODE,
                "Link previews",
                Kind.SELECT,
                required=True,
                choices=UNFURL_MODE_CHOICES,
                hint="A pasted PMP link shows its record's card to everyone in the conversation.",
            ),
            FormField(
                UNFURL_IN_SLACK_CONNECT,
                "Previews in Slack Connect channels",
                Kind.CHECKBOX,
                hint="Also in Slack Connect channels (with Everywhere)",
            ),
            FormField(
                MEMBERS_MAY_SUBSCRIBE,
                "Channel subscriptions",
                Kind.CHECKBOX,
                hint="Members may subscribe channels they are in, not only admins",
            ),
            FormField(
                POLL_INTERVAL,
                "Check PMP for changes every (seconds)",
                Kind.INTEGER,
                required=True,
                min_value=POLL_INTERVAL_MIN_S,
                hint=f"From {POLL_INTERVAL_MIN_S} to {POLL_INTERVAL_MAX_S} seconds.",
            ),
        ],
    )


def options_values(options: WorkspaceOptions) -> dict[str, object]:
    return {
        UNFURL_MODE: options.unfurl_mode,
        UNFURL_IN_SLACK_CONNECT: options.unfurl_in_slack_connect,
        MEMBERS_MAY_SUBSCRIBE: options.members_may_subscribe,
        POLL_INTERVAL: str(options.poll_interval_seconds),
    }


@dataclass(frozen=True)
class OptionsReading:
    options: WorkspaceOptions | None
    errors: dict[str, str]


def read_options(view: Mapping[str, Any]) -> OptionsReading:
    """The workspace options of a submitted settings form, or an error per input."""
    spec = options_spec()
    result = read_form(spec, _state(view))
    errors = dict(result.errors)
    seconds = result.values.get(POLL_INTERVAL)
    block = spec.field(POLL_INTERVAL).block_id(spec.id)
    if block not in errors and isinstance(seconds, int) and seconds > POLL_INTERVAL_MAX_S:
        errors[block] = f"Enter {POLL_INTERVAL_MAX_S} or less (one hour)."
    if errors:
        return OptionsReading(None, errors)
    return OptionsReading(
        WorkspaceOptions(
            unfurl_mode=str(result.values[UNFURL_MODE]),
            unfurl_in_slack_connect=bool(result.values[UNFURL_IN_SLACK_CONNECT]),
            members_may_subscribe=bool(result.values[MEMBERS_MAY_SUBSCRIBE]),
            poll_interval_seconds=int(seconds or POLL_INTERVAL_MIN_S),
        ),
        {},
    )


def _options_summary(options: WorkspaceOptions) -> str:
    previews = {
        "off": "Link previews are off.",
        "internal": "PMP links get previews in channels pmp-bot is in.",
        "everywhere": "PMP links get previews in every conversation.",
    }.get(options.unfurl_mode, "")
    if options.unfurl_mode != "off":
        allowed = options.unfurl_mode == "everywhere" and options.unfurl_in_slack_connect
        previews += " Slack Connect channels: " + ("yes." if allowed else "no.")
    who = "Members" if options.members_may_subscribe else "Only admins"
    return (
        f"{previews} {who} may subscribe channels. PMP is checked for changes every "
        f"{options.poll_interval_seconds} s."
    )


# ------------------------------------------------------------------------- views


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


def build_settings_loading_modal() -> View:
    return View(
        type="modal",
        title=SETTINGS_TITLE,
        close="Cancel",
        blocks=[_section(":hourglass_flowing_sand: Reading ticket names from PMP…")],
    )


def build_ticket_settings_modal(
    prefill: TicketSettings,
    note: str | None = None,
    *,
    allow_first_record_file_loss: bool = False,
    options: WorkspaceOptions | None = None,
) -> View:
    """One multiline input per kind of id, a `1 = Support` line per entry; the workspace
    options (link previews, who may subscribe channels, how often PMP is polled); last the
    admin's choice whether edits may cost the files of record #1 (PMP's module defect)."""
    intro = (
        "PMP's API can't list ticket departments, priorities, services or statuses, so name "
        "them here: one `id = name` per line. Cards and the new-ticket form use these names."
    )
    blocks: list[Block] = [_section(intro)]
    blocks.append(
        _context(
            safe(note, 2000)
            if note
            else "Filled in with the saved names and those seen on PMP tickets."
        )
    )
    blocks.extend(build_inputs(settings_spec(), settings_values(prefill)))
    blocks += [DividerBlock(), _section("*This workspace*")]
    blocks.extend(build_inputs(options_spec(), options_values(options or WorkspaceOptions())))
    # The choice that costs files comes last, right under its warning.
    blocks += [DividerBlock(), _section(f":warning: {FILE_LOSS_SETTING_WARNING}")]
    blocks.extend(
        build_inputs(file_loss_setting_spec(), {FILE_LOSS_SETTING: allow_first_record_file_loss})
    )
    return View(
        type="modal",
        callback_id=TicketForm.SETTINGS_MODAL,
        title=SETTINGS_TITLE,
        submit="Save",
        close="Cancel",
        blocks=blocks,
    )


def build_settings_saved_view(
    settings: TicketSettings,
    *,
    allow_first_record_file_loss: bool = False,
    options: WorkspaceOptions | None = None,
) -> View:
    counts = ", ".join(
        f"{len(getattr(settings, kind))} {SETTING_LABELS[kind].lower()}"
        for kind in TICKET_SETTING_KINDS
    )
    edits = (
        ":warning: Lead, project and ticket edits are allowed even though PMP's API module "
        "deletes the files of lead, project or ticket #1 with each one."
        if allow_first_record_file_loss
        else "Lead, project and ticket edits that would make PMP delete the files of lead, "
        "project or ticket #1 are refused."
    )
    return View(
        type="modal",
        title=SETTINGS_TITLE,
        close="Done",
        blocks=[
            _section(f":white_check_mark: Saved the ticket settings: {counts}."),
            _section(edits),
            *([_section(_options_summary(options))] if options is not None else []),
            _context(f"Change them any time with `{SLASH_COMMAND} settings`."),
        ],
    )
