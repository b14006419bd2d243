"""The console shell: use the real app from a terminal, with the Slack stand-in as Slack.

The shell plays the Slack client. It turns commands into the signed requests Slack would send
(slash commands, button presses, modal submissions, options loads, shortcuts, Home tab
events), posts them to the app's `/slack/events`, then shows what the app answered and what
it did at the stand-in (messages, response URL posts, modals, Home tab). Modals are filled
in as forms at the prompt. Lines come from a terminal or from a script (stdin, a list).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import sys
import threading
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TextIO, runtime_checkable

import httpx

from bot.console.blockkit import (
    STATEFUL_ELEMENT_TYPES,
    JsonDict,
    block_elements,
    options_problems,
    with_generated_ids,
)
from bot.console.forms import (
    END_OF_TEXT,
    EXTERNAL_TYPES,
    AnswerError,
    Choices,
    FormField,
    choice_lines,
    empty_entry,
    flat_options,
    form_fields,
    is_empty,
    parse_answer,
    question,
)
from bot.console.payloads import (
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    Actor,
    action_payload,
    app_home_opened,
    block_actions_from_message,
    block_actions_from_view,
    block_suggestion,
    escape_text,
    event_body,
    form_body,
    global_shortcut,
    initial_entry,
    interaction_body,
    message_shortcut,
    sign,
    slash_command_fields,
    view_closed,
    view_submission,
    view_with_state,
)
from bot.console.render import (
    Names,
    NumberedAction,
    indent,
    render_message,
    render_text_object,
    render_view,
    value_summary,
)
from bot.console.slack_standin import (
    DEFAULT_CHANNEL_ID,
    DEFAULT_TEAM_ID,
    DEFAULT_USER_ID,
    RecordedCall,
    RunningSlackStandin,
    StandinError,
)

ACK_DEADLINE_SECONDS = 3.0
# How many of the latest messages with actions can still be pressed (`press N in M`).
MESSAGES_KEPT = 50
# After the ack, the console says the app is still working once its work takes this long.
STILL_WORKING_NOTE_AFTER = 1.0
# The longest the console waits for the app's work after an ack before giving the prompt back.
WORK_TIMEOUT_SECONDS = 60.0

HELP = """\
Commands:
  /command text              run a slash command, e.g. /pmp help
  press N [answer]           press action N of the last message or Home tab
                             (menus and pickers ask for a choice, or take it after N)
  press N in M [answer]      press action N of an earlier message: the M of "message M"
                             in its header
  shortcut NAME              run a global shortcut (its name or callback id)
  message-shortcut NAME TEXT run a message shortcut on a new message saying TEXT
  home                       open the app's Home tab
  say TEXT                   post TEXT in the channel as yourself; links to the app's unfurl
                             domains (your PMP) get the app's previews
  as USER                    act as another person (name or id); new ids are added
  in CHANNEL                 type in another channel, e.g. in #sales
  wait [SECONDS]             let time pass and show what the app did meanwhile
  pmp-change ...             change a record in PMP as a PMP user would, then show what
                             the app did (PMP sandbox only; pmp-change help tells how)
  trace on|off               list every Web API call the app makes
  help                       this list
  quit                       leave (exit works too)
Lines starting with # are comments.
"""

FORM_HELP = """\
In a modal form each field is asked in turn: Enter keeps the value shown, - clears it,
back goes to the field before, cancel closes the form (type \\cancel for the word itself).
Long text fields take several lines: a line with only . ends the text.
Menus list their choices: answer with a number (several: numbers separated by commas).
Then answer submit, cancel (close), back (the last field again), edit (every field again),
edit FIELD (that field, e.g. edit department) or press N (an action of the modal);
quit leaves the console."""


# ------------------------------------------------------------------ line sources


@runtime_checkable
class LineSource(Protocol):
    async def read(self, prompt: str) -> str | None:
        """The next line typed after `prompt`, or None when input has ended."""


class ScriptedLines:
    """Lines from a script; each is echoed after its prompt so the transcript reads well."""

    def __init__(self, lines: Iterable[str] | AsyncIterable[str], out: TextIO) -> None:
        self._out = out
        self._sync: Iterator[str] | None = None
        self._async: AsyncIterator[str] | None = None
        if isinstance(lines, AsyncIterable):
            self._async = aiter(lines)
        else:
            self._sync = iter(lines)

    async def read(self, prompt: str) -> str | None:
        try:
            if self._async is not None:
                line = await anext(self._async)
            else:
                assert self._sync is not None
                line = next(self._sync)
        except (StopIteration, StopAsyncIteration):
            return None
        line = line.rstrip("\r\n")
        self._out.write(f"{prompt}{line}\n")
        return line


async def _in_daemon_thread(read: Callable[[], str | None]) -> str | None:
    """Run a blocking read without blocking the event loop.

    A daemon thread, not the default executor: asyncio.run() joins executor threads on exit,
    so Ctrl-C at a prompt would hang until the user pressed Enter.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str | None] = loop.create_future()

    def deliver(line: str | None) -> None:
        if not future.done():
            future.set_result(line)

    def work() -> None:
        try:
            line = read()
        except (EOFError, OSError, ValueError):
            line = None
        # RuntimeError: the loop is gone, nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(deliver, line)

    threading.Thread(target=work, name="console-input", daemon=True).start()
    return await future


class TerminalLines:
    """Lines typed at a terminal (with the terminal's line editing)."""

    async def read(self, prompt: str) -> str | None:
        return await _in_daemon_thread(lambda: input(prompt))


async def _stdin_lines() -> AsyncIterator[str]:
    while True:
        line = await _in_daemon_thread(sys.stdin.readline)
        if not line:
            return
        yield line


def stdin_lines(out: TextIO) -> LineSource:
    """A prompt when stdin is a terminal, else the lines of stdin as a script."""
    if sys.stdin.isatty():
        return TerminalLines()
    return ScriptedLines(_stdin_lines(), out)


# ------------------------------------------------------------------ internals


@dataclass(frozen=True)
class _Surface:
    """Where a numbered action lives: a message (channel, ts) or a view."""

    kind: Literal["message", "view"]
    channel_id: str = ""
    ts: str = ""
    ephemeral: bool = False
    view_id: str = ""


@dataclass(frozen=True)
class _Pressable:
    action: NumberedAction
    surface: _Surface


@dataclass
class _Output:
    """What one command showed: numbering continues across everything it rendered."""

    pressables: list[_Pressable] = field(default_factory=list)
    changed_surfaces: set[_Surface] = field(default_factory=set)
    home_shown: bool = False

    @property
    def next_number(self) -> int:
        return len(self.pressables) + 1


@dataclass(frozen=True)
class _Reply:
    status: int
    text: str
    data: JsonDict | None

    @property
    def ok(self) -> bool:
        return self.status == 200


class _Keep:
    """The user pressed Enter: keep the current value."""


class _Back:
    """The user typed back: ask the field before again."""


class _Cancel:
    """The user typed cancel: close the form (or drop the press)."""


KEEP = _Keep()
BACK = _Back()
CANCEL = _Cancel()
Answer = JsonDict | _Keep | _Back | _Cancel
# Words that steer a form rather than fill in a field; a leading backslash types them.
FORM_WORDS = ("back", "cancel", "quit", "exit")
OptionsLoader = Callable[[str], Awaitable[list[JsonDict] | None]]
_NUMBERS = re.compile(r"^\d+(\s*,\s*\d+)*$")


def _fields_named(fields: Sequence[FormField], name: str) -> list[FormField]:
    """The fields labelled `name`, else those whose label starts with it, else those whose
    label contains it, ignoring case."""
    wanted = name.strip().casefold()
    for test in (
        lambda label: label == wanted,
        lambda label: label.startswith(wanted),
        lambda label: wanted in label,
    ):
        found = [f for f in fields if test(f.label.casefold())]
        if found:
            return found
    return []


def _blocks_of(params: Mapping[str, Any]) -> list[JsonDict]:
    blocks = params.get("blocks")
    return with_generated_ids(blocks) if isinstance(blocks, list) else []


class ConsoleShell:
    """Drive a Bolt app like Slack would (see the module docstring)."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        signing_secret: str,
        slack: RunningSlackStandin,
        team_id: str,
        user_id: str,
        channel_id: str,
        out: TextIO,
        events_path: str = "/slack/events",
        shortcuts: Mapping[str, str] | None = None,
        extra_help: str = "",
        commands: Iterable[str] | None = None,
        settle_quiet: float = 0.1,
        settle_timeout: float = 5.0,
        app_idle: Callable[[], Awaitable[object]] | None = None,
        work_timeout: float = WORK_TIMEOUT_SECONDS,
        pmp_change: Callable[[str], Awaitable[str]] | None = None,
    ) -> None:
        self._http = http
        self._secret = signing_secret
        self._slack = slack
        self.team_id = team_id
        self.user_id = user_id
        self.channel_id = channel_id
        self._out = out
        self._path = events_path
        # Shortcut names (as in the app manifest) to callback ids.
        self._shortcuts = {k.lower(): v for k, v in (shortcuts or {}).items()}
        self._shortcut_names = list(shortcuts or {})
        self._extra_help = extra_help
        # The app's slash commands, as its manifest declares them: Slack sends no others.
        self._commands = {c.lower() for c in commands} if commands is not None else None
        self._settle_quiet = settle_quiet
        self._settle_timeout = settle_timeout
        # Returns once the app has finished the work it started after its acks. Without it,
        # the console waits for the tasks that appeared while a request was being answered.
        self._app_idle = app_idle
        self._work_timeout = work_timeout
        # Changes a record on PMP's side (the sandbox's change control) and says what it did.
        self._pmp_change = pmp_change
        self._lines: LineSource | None = None
        self._pressables: dict[int, _Pressable] = {}
        # Messages (and the Home tab) with actions, by the number shown in their header.
        self._message_numbers: dict[_Surface, int] = {}
        self._message_actions: dict[int, dict[int, _Pressable]] = {}
        self._message_count = itertools.count(1)
        self._answers: dict[str, dict[str, dict[str, JsonDict]]] = {}
        self._asked: dict[str, set[str]] = {}  # view id -> block ids already asked
        self._seen_calls = len(slack.calls)
        self._trace = False
        self._app_tasks: set[asyncio.Task[Any]] = set()
        self._ended = False
        self._lines_ended = False  # the input ran out (rather than the user quitting)
        self._event_ids = itertools.count(1)

    # ------------------------------------------------------------------ entry points

    async def run(self, lines: LineSource | Iterable[str] | AsyncIterable[str]) -> None:
        """Read and execute commands until the input ends or the user quits."""
        self._lines = lines if isinstance(lines, LineSource) else ScriptedLines(lines, self._out)
        self._ended = self._lines_ended = False
        me = self._slack.user(self.team_id, self.user_id)
        who = f"@{me.name}" if me else self.user_id
        self._say(
            f"pmp-bot console: you are {who} in #{self._channel_name()}. Type help for commands."
        )
        while not self._ended:
            line = await self._read("> ")
            if line is None:
                break
            if not await self.execute(line):
                break

    async def execute(self, line: str) -> bool:
        """Run one command; False once the user asked to quit."""
        text = line.strip()
        if not text or text.startswith("#"):
            return True
        word, _, rest = text.partition(" ")
        rest = rest.strip()
        command = word.lower()
        try:
            if text.startswith("/"):
                if len(word) < 2:
                    self._say("Give the command name after the slash, e.g. /pmp help")
                elif self._commands is not None and command not in self._commands:
                    known = " or ".join(sorted(self._commands))
                    self._say(f"{word} is not a command here; try {known}, e.g. {known} help.")
                else:
                    await self._slash_command(word, rest)
            elif command in ("press", "p"):
                await self._press_command(rest)
            elif command == "shortcut":
                await self._shortcut_command(rest)
            elif command == "message-shortcut":
                await self._message_shortcut_command(rest)
            elif command == "home":
                await self._home_command()
            elif command == "say":
                await self._say_command(rest)
            elif command == "as":
                self._as_command(rest)
            elif command == "in":
                self._in_command(rest)
            elif command == "wait":
                await self._wait_command(rest)
            elif command == "pmp-change":
                await self._pmp_change_command(rest)
            elif command == "trace":
                self._trace = rest.lower() != "off"
                self._say(f"Tracing Web API calls is {'on' if self._trace else 'off'}.")
            elif command in ("help", "?"):
                self._say(self.help_text())
            elif command in ("quit", "exit"):
                return False
            else:
                self._say(
                    f"Unknown command '{word}'. Slash commands start with /, like /pmp help; "
                    "type help for the console's own."
                )
        except StandinError as problem:
            self._say(f"Slack refused that: {problem}.")
        except Exception as error:  # keep the session alive whatever went wrong
            self._say(f"The console could not do that: {type(error).__name__}: {error}")
        return not self._ended

    def help_text(self) -> str:
        """The console's commands, who and what is in the workspace, and the form keys."""
        parts = [HELP.rstrip("\n"), self.workspace_summary()]
        if self._shortcut_names:
            parts.append("Shortcuts: " + ", ".join(self._shortcut_names) + ".")
        if self._extra_help:
            parts.append(self._extra_help.rstrip("\n"))
        parts.append(FORM_HELP)
        return "\n".join(parts)

    def workspace_summary(self) -> str:
        """`People: @alex (owner), @sam ... Channels: #general ...` for `as` and `in`."""
        people = []
        for user in self._slack.users(self.team_id):
            role = " (owner)" if user.is_owner else " (admin)" if user.is_admin else ""
            people.append(f"@{user.name}{role}")
        channels = [f"#{c.name}" for c in self._slack.channels(self.team_id)]
        return f"People: {', '.join(people)}. Channels: {', '.join(channels)}."

    # ------------------------------------------------------------------ commands

    async def _slash_command(self, command: str, text: str) -> None:
        actor = self._actor()
        response_url = self._slack.new_response_url(self.team_id, self.channel_id, self.user_id)
        fields = slash_command_fields(
            actor,
            command=command,
            text=text,
            response_url=response_url,
            trigger_id=self._new_trigger(),
        )
        reply = await self._post(form_body(fields), FORM_CONTENT_TYPE, f"{command} command")
        output = _Output()
        if reply is not None and reply.ok:
            message = self._ack_message(reply)
            if message is not None:
                in_channel = message.get("response_type") == "in_channel"
                stored = self._slack.add_message(
                    self.team_id,
                    self.channel_id,
                    text=str(message.get("text") or ""),
                    blocks=message.get("blocks")
                    if isinstance(message.get("blocks"), list)
                    else None,
                    attachments=message.get("attachments")
                    if isinstance(message.get("attachments"), list)
                    else None,
                    ephemeral_for=None if in_channel else self.user_id,
                )
                self._slack.set_original_message(response_url, stored.ts)
                where = f"#{self._channel_name()}"
                header = (
                    f"pmp-bot in {where}:"
                    if in_channel
                    else (f"pmp-bot in {where} (only visible to you):")
                )
                self._show_message(
                    output,
                    header,
                    {**message, "blocks": stored.blocks},
                    _Surface("message", self.channel_id, stored.ts, ephemeral=not in_channel),
                )
        await self._finish(output)

    async def _press_command(self, rest: str) -> None:
        words = rest.split()
        if not words:
            self._say("press: give the number of an action, e.g. press 1")
            return
        number_text = words[0]
        if not number_text.isdigit():
            self._say(f"press {number_text}: give the number of an action, e.g. press 1")
            return
        number = int(number_text)
        answer = rest.strip()[len(number_text) :].strip()
        if len(words) >= 3 and words[1].lower() == "in" and words[2].isdigit():
            # press N in M: action N of message M, whatever came after it.
            message = int(words[2])
            answer = answer.split(None, 2)[2] if len(answer.split(None, 2)) > 2 else ""
            actions = self._message_actions.get(message)
            if actions is None:
                self._say(f"press {number} in {message}: there is no message {message} to press")
                return
            pressable = actions.get(number)
            if pressable is None:
                listed = ", ".join(str(n) for n in actions)
                self._say(f"press {number} in {message}: message {message} has actions {listed}")
                return
        else:
            found = self._pressables.get(number)
            if found is None:
                if not self._pressables:
                    self._say(f"press {number}: there is nothing to press yet")
                else:
                    self._say(f"press {number}: there is no action {number}")
                return
            pressable = found
        output = _Output()
        if await self._press(pressable, answer or None):
            await self._finish(output)

    def _shortcut_parts(self, rest: str) -> tuple[str, str] | None:
        """(callback id, what follows) for a shortcut given by its name (as in the manifest,
        quoted or not) or callback id; None when the app has no such shortcut."""
        text = rest.strip()
        if text[:1] in ("'", '"') and text[0] in text[1:]:
            name, _, after = text[1:].partition(text[0])
            wanted = name.strip().lower()
            if wanted in self._shortcuts:
                return self._shortcuts[wanted], after.strip()
            if wanted in self._shortcuts.values() or not self._shortcuts:
                return name.strip(), after.strip()
            return None
        for name in sorted(self._shortcuts, key=len, reverse=True):
            head, after = text[: len(name)], text[len(name) :]
            if head.lower() == name and (not after or after[0].isspace()):
                return self._shortcuts[name], after.strip()
        first, _, after = text.partition(" ")
        if first in self._shortcuts.values() or not self._shortcuts:
            return first, after.strip()
        return None

    def _no_such_shortcut(self, command: str, rest: str) -> None:
        names = ", ".join(self._shortcut_names)
        self._say(f"{command}: there is no shortcut '{rest.strip()}'. Shortcuts: {names}.")

    async def _shortcut_command(self, rest: str) -> None:
        if not rest:
            self._say("shortcut: give the shortcut's name or callback id")
            return
        parts = self._shortcut_parts(rest)
        if parts is None or parts[1]:
            self._no_such_shortcut("shortcut", rest)
            return
        callback_id = parts[0]
        payload = global_shortcut(
            self._actor(), callback_id=callback_id, trigger_id=self._new_trigger()
        )
        reply = await self._post(
            interaction_body(payload), FORM_CONTENT_TYPE, f"shortcut {callback_id}"
        )
        self._note_ignored_ack(reply)
        await self._finish(_Output())

    async def _message_shortcut_command(self, rest: str) -> None:
        usage = "message-shortcut: give the shortcut's name and the message text"
        if not rest.strip():
            self._say(usage)
            return
        parts = self._shortcut_parts(rest)
        if parts is None:
            self._no_such_shortcut("message-shortcut", rest.split(" ", 1)[0])
            return
        callback_id, text = parts
        if not text:
            self._say(usage)
            return
        stored = self._slack.add_message(
            self.team_id, self.channel_id, text=escape_text(text), user_id=self.user_id
        )
        self._say(f"You posted in #{self._channel_name()}: {text}")
        message = self._slack.message_payload(self.channel_id, stored.ts) or {}
        payload = message_shortcut(
            self._actor(),
            callback_id=callback_id,
            trigger_id=self._new_trigger(),
            message=message,
            response_url=self._slack.new_response_url(self.team_id, self.channel_id, self.user_id),
        )
        reply = await self._post(
            interaction_body(payload), FORM_CONTENT_TYPE, f"message shortcut {callback_id}"
        )
        self._note_ignored_ack(reply)
        await self._finish(_Output())

    async def _home_command(self) -> None:
        team = self._slack.team_info(self.team_id)
        payload = app_home_opened(
            self._actor(),
            bot_user_id=str(team["bot_user_id"]),
            dm_channel_id=f"D{self.user_id[1:]}",
            view=self._slack.home_view(self.team_id, self.user_id),
            event_id=f"Ev{next(self._event_ids):08d}",
        )
        await self._post(event_body(payload), JSON_CONTENT_TYPE, "app_home_opened event")
        output = _Output()
        await self._settle()
        self._collect(output)
        if not output.home_shown:
            home = self._slack.home_view(self.team_id, self.user_id)
            if home is None:
                self._say("The app has not published a Home tab for you.")
            else:
                self._show_view(output, "Home tab:", home)
        await self._finish(output, settle=False)

    def _as_command(self, rest: str) -> None:
        wanted = rest.lstrip("@")
        if not wanted:
            self._say("as: give a user id or name, e.g. as U0001")
            return
        people = self._slack.users(self.team_id)
        match = next((u for u in people if wanted in (u.id, u.name)), None)
        if match is None:
            if not re.fullmatch(r"[UW][A-Z0-9]{2,}", wanted):
                self._say(
                    f"as: there is nobody called '{rest}' here. {self.workspace_summary()}"
                    " (An id like U0042 adds a member.)"
                )
                return
            match = self._slack.add_user(self.team_id, wanted, wanted.lower())
            self._say(f"(Added {wanted} to the workspace as a member.)")
        self.user_id = match.id
        role = "owner" if match.is_owner else "admin" if match.is_admin else "member"
        self._say(f"You are now @{match.name} ({match.id}, {role}).")

    def _in_command(self, rest: str) -> None:
        wanted = rest.strip().lstrip("#")
        if not wanted:
            self._say("in: give a channel, e.g. in #sales")
            return
        channels = self._slack.channels(self.team_id)
        match = next((c for c in channels if wanted in (c.id, c.name)), None)
        if match is None:
            self._say(f"in: there is no channel '{rest.strip()}'. {self.workspace_summary()}")
            return
        self.channel_id = match.id
        member = "" if match.bot_is_member else " (pmp-bot is not in it)"
        self._say(f"You are now typing in #{match.name}{member}.")

    async def _wait_command(self, rest: str) -> None:
        try:
            seconds = float(rest) if rest else 0.0
        except ValueError:
            seconds = -1.0
        if not 0 <= seconds <= 600:
            self._say("wait: give a number of seconds up to 600, e.g. wait 2")
            return
        # Time passes as in Slack: background work (paced channel notices) shows up meanwhile.
        await asyncio.sleep(seconds)
        await self._settle()
        output = _Output()
        self._collect(output)
        self._commit(output)
        await self._run_modals()

    async def _say_command(self, text: str) -> None:
        if not text:
            self._say("Give the message after say, e.g. say see https://crm.example.com/...")
            return
        # Slack posts the message, and sends the app link_shared for its links to the app's
        # unfurl domains.
        envelope = self._slack.share_link(
            self.team_id, self.user_id, text, channel_id=self.channel_id
        )
        self._say(f"(you said it in {self._where(self.channel_id)})")
        if envelope is None:
            return
        await self._post(event_body(envelope), JSON_CONTENT_TYPE, "link_shared event")
        await self._finish(_Output())

    async def _pmp_change_command(self, rest: str) -> None:
        if self._pmp_change is None:
            self._say("pmp-change works with the PMP sandbox only; this console uses your PMP.")
            return
        self._say(await self._pmp_change(rest))
        # Like `wait`: what the app does about the change (a webhook, a notice) shows up.
        await self._wait_command("")

    # ------------------------------------------------------------------ requests

    def _actor(self) -> Actor:
        team = self._slack.team_info(self.team_id)
        user = self._slack.user(self.team_id, self.user_id)
        return Actor(
            team_id=self.team_id,
            team_domain=str(team["domain"]),
            user_id=self.user_id,
            user_name=user.name if user else self.user_id.lower(),
            channel_id=self.channel_id,
            channel_name=self._channel_name(),
            api_app_id=self._slack.app_id,
        )

    def _channel_name(self) -> str:
        channel = self._slack.channel(self.team_id, self.channel_id)
        if channel is None:
            return self.channel_id
        return "directmessage" if channel.dm_user else channel.name

    def _names(self) -> Names:
        return Names(
            users=self._slack.user_names(self.team_id),
            channels=self._slack.channel_names(self.team_id),
        )

    def _choices(self) -> Choices:
        return Choices(
            people=[(u.id, u.name) for u in self._slack.users(self.team_id)],
            channels=[(c.id, c.name) for c in self._slack.channels(self.team_id)],
        )

    def _new_trigger(self) -> str:
        return self._slack.new_trigger_id(self.team_id, self.user_id)

    async def _post(self, body: str, content_type: str, what: str) -> _Reply | None:
        signed = sign(body, self._secret, content_type)
        started = time.monotonic()
        tasks_before = asyncio.all_tasks()
        try:
            response = await self._http.post(
                self._path, content=body.encode(), headers=signed.headers
            )
            # Work the app left running in this process (lazy listeners, or all listeners
            # without process_before_response): _settle waits for it.
            self._app_tasks |= {t for t in asyncio.all_tasks() - tasks_before if not t.done()}
        except httpx.HTTPError as error:
            self._say(f"Could not reach the app: {error or type(error).__name__}.")
            return None
        except Exception as error:  # the app itself failed (served in-process)
            self._say(f"The app failed while handling the {what}: {type(error).__name__}: {error}")
            return None
        elapsed = time.monotonic() - started
        data: JsonDict | None = None
        if response.text.startswith("{"):
            try:
                decoded = json.loads(response.text)
            except ValueError:
                decoded = None
            data = decoded if isinstance(decoded, dict) else None
        reply = _Reply(status=response.status_code, text=response.text, data=data)
        if reply.status == 401:
            self._say(
                "The app refused the request (HTTP 401): it did not accept the request "
                "signature. Check that the console and the app use the same signing secret."
            )
        elif reply.status == 404 and "unhandled" in reply.text:
            self._say(f"The app has no handler for this {what} (HTTP 404).")
        elif not reply.ok:
            detail = f": {reply.text[:200]}" if reply.text else ""
            self._say(
                f"The app answered the {what} with HTTP {reply.status}{detail} "
                "(Slack shows the user an error)."
            )
        if elapsed > ACK_DEADLINE_SECONDS:
            self._say(
                f"(The app took {elapsed:.1f} s to answer; Slack stops waiting after "
                f"{ACK_DEADLINE_SECONDS:.0f} s and shows the user an error.)"
            )
        return reply

    @staticmethod
    def _ack_message(reply: _Reply) -> JsonDict | None:
        """The message an ack carries: Slack shows it to the user (ephemeral by default)."""
        if reply.data is None:
            return {"text": reply.text} if reply.text.strip() else None
        if any(key in reply.data for key in ("text", "blocks", "attachments")):
            return reply.data
        return None

    def _note_ignored_ack(self, reply: _Reply | None) -> None:
        if reply is not None and reply.ok and self._ack_message(reply) is not None:
            self._say(
                "(The app answered with a message; Slack ignores messages in the answer to "
                "this request. Use respond() or the Web API to show one.)"
            )

    async def _settle(self, timeout: float | None = None) -> None:
        """Wait for the app's work after its acks, then until it has been quiet at the
        stand-in for a moment (bounded by the timeout)."""
        await self._wait_for_app_work(self._work_timeout if timeout is None else timeout)
        limit = self._settle_timeout if timeout is None else timeout
        started = time.monotonic()
        last_count = len(self._slack.calls)
        last_change = started
        while True:
            now = time.monotonic()
            if now - started >= limit:
                return
            if now - last_change >= self._settle_quiet and self._slack.requests_in_flight == 0:
                return
            await asyncio.sleep(0.01)
            count = len(self._slack.calls)
            if count != last_count or self._slack.requests_in_flight:
                last_count = count
                last_change = time.monotonic()

    async def _wait_for_app_work(self, limit: float) -> None:
        """Like Slack, show the ack at once; then wait for what the app does after it,
        saying so when that takes a while (as it does when PMP is slow)."""
        running = {t for t in self._app_tasks if not t.done()}
        self._app_tasks = set()
        if self._app_idle is not None:
            await asyncio.sleep(0)  # a listener Bolt has just scheduled starts first
            waiting: asyncio.Future[Any] = asyncio.ensure_future(self._app_idle())
        elif running:
            waiting = asyncio.ensure_future(asyncio.wait(running))
        else:
            return
        started = time.monotonic()
        try:
            done, _ = await asyncio.wait({waiting}, timeout=min(STILL_WORKING_NOTE_AFTER, limit))
            if not done and limit > STILL_WORKING_NOTE_AFTER:
                self._say("(pmp-bot answered at once and is still working; its reply follows.)")
                rest = limit - (time.monotonic() - started)
                done, _ = await asyncio.wait({waiting}, timeout=max(rest, 0.0))
            if not done:
                self._say("(pmp-bot is still working; type wait to see what it does next.)")
        finally:
            waiting.cancel()

    async def _finish(self, output: _Output, *, settle: bool = True) -> None:
        if settle:
            await self._settle()
        self._collect(output)
        self._commit(output)
        await self._run_modals()

    def _commit(self, output: _Output) -> None:
        if output.pressables:
            self._pressables = {p.action.number: p for p in output.pressables}
        elif output.changed_surfaces:
            self._pressables = {
                n: p
                for n, p in self._pressables.items()
                if p.surface not in output.changed_surfaces
            }

    # ------------------------------------------------------------------ showing activity

    def _say(self, text: str) -> None:
        self._out.write(text + "\n")

    def _show_message(
        self, output: _Output, header: str, message: Mapping[str, Any], surface: _Surface
    ) -> None:
        rendered = render_message(message, names=self._names(), first_number=output.next_number)
        self._show_rendered(output, header, rendered.text, rendered.actions, surface)

    def _show_view(self, output: _Output, header: str, view: Mapping[str, Any]) -> None:
        surface = _Surface("view", view_id=str(view.get("id", "")))
        state = self._state_of(view)
        rendered = render_view(
            view, state=state, names=self._names(), first_number=output.next_number
        )
        self._show_rendered(output, header, rendered.text, rendered.actions, surface)
        if view.get("type") == "home":
            output.home_shown = True

    def _show_rendered(
        self,
        output: _Output,
        header: str,
        text: str,
        actions: Sequence[NumberedAction],
        surface: _Surface,
    ) -> None:
        """Show a message or view. One with actions gets a number in its header (kept
        while it is updated), so `press N in M` reaches it after later messages."""
        pressables = [_Pressable(a, surface) for a in actions]
        if pressables:
            number = self._message_numbers.get(surface) or self._number_message(surface)
            self._message_actions[number] = {p.action.number: p for p in pressables}
            header = f"{header.removesuffix(':')} · message {number}:"
        else:
            self._forget_message(surface)
        self._say(header)
        self._say(indent(text))
        output.changed_surfaces.add(surface)
        output.pressables.extend(pressables)

    def _number_message(self, surface: _Surface) -> int:
        number = next(self._message_count)
        self._message_numbers[surface] = number
        # Only the latest messages stay pressable, as they would stay in view in Slack.
        while len(self._message_numbers) > MESSAGES_KEPT:
            oldest = next(iter(self._message_numbers))
            self._forget_message(oldest)
        return number

    def _forget_message(self, surface: _Surface) -> None:
        number = self._message_numbers.pop(surface, None)
        if number is not None:
            self._message_actions.pop(number, None)

    def _where(self, channel_id: str) -> str:
        channel = self._slack.channel(self.team_id, channel_id)
        if channel is not None and channel.dm_user is not None:
            return "your direct messages" if channel.dm_user == self.user_id else "a DM"
        return f"#{channel.name}" if channel else channel_id

    def _user_name(self, user_id: str) -> str:
        return "@" + self._names().users.get(user_id, user_id)

    def _collect(self, output: _Output) -> None:
        calls = self._slack.calls
        for call in calls[self._seen_calls :]:
            self._show_call(call, output)
        self._seen_calls = len(calls)

    def _show_call(self, call: RecordedCall, output: _Output) -> None:
        if self._trace:
            outcome = "ok" if call.ok else (call.error or f"HTTP {call.status}")
            self._say(f"  . {call.method} -> {outcome}")
        if not call.ok:
            if call.method == "response_url":
                self._say(
                    f"! The app's post to its response_url failed: "
                    f"{call.error or 'error'} (HTTP {call.status})."
                )
            else:
                self._say(
                    f"! The app called {call.method}; Slack answered {call.error or call.status}."
                )
            return
        params, answer = call.params, call.response
        if call.method == "chat.postMessage":
            channel_id, ts = str(answer["channel"]), str(answer["ts"])
            self._show_message(
                output,
                f"pmp-bot in {self._where(channel_id)}:",
                answer["message"],
                _Surface("message", channel_id, ts),
            )
        elif call.method == "chat.postEphemeral":
            stored = self._slack.find_message(str(answer.get("message_ts", "")))
            target = str(params.get("user", ""))
            if stored is None:
                return
            if target != self.user_id:
                self._say(f"(pmp-bot showed {self._user_name(target)} a message only they can see)")
                return
            message = {**params, "blocks": _blocks_of(params)}
            self._show_message(
                output,
                f"pmp-bot in {self._where(stored.channel_id)} (only visible to you):",
                message,
                _Surface("message", stored.channel_id, stored.ts, ephemeral=True),
            )
        elif call.method == "chat.update":
            channel_id, ts = str(answer["channel"]), str(answer["ts"])
            self._show_message(
                output,
                f"pmp-bot updated its message in {self._where(channel_id)}:",
                answer["message"],
                _Surface("message", channel_id, ts),
            )
        elif call.method == "chat.delete":
            channel_id, ts = str(answer["channel"]), str(answer["ts"])
            self._say(f"(pmp-bot deleted its message in {self._where(channel_id)})")
            output.changed_surfaces.add(_Surface("message", channel_id, ts))
            self._forget_message(_Surface("message", channel_id, ts))
        elif call.method == "response_url":
            self._show_response_url_post(call, output)
        elif call.method == "chat.unfurl":
            unfurls = params.get("unfurls")
            for url, unfurl in (unfurls if isinstance(unfurls, dict) else {}).items():
                message = {"blocks": unfurl.get("blocks") or []}
                where = str(params.get("channel") or "the message you are typing")
                self._show_message(
                    output,
                    f"pmp-bot's preview of {url} in {self._where(where)}:",
                    message,
                    _Surface("message", where, str(params.get("ts") or params.get("unfurl_id"))),
                )
        elif call.method == "views.publish":
            view = answer.get("view")
            if str(params.get("user_id")) == self.user_id and isinstance(view, dict):
                self._show_view(output, "pmp-bot updated your Home tab:", view)
        elif call.method == "views.update":
            view = answer.get("view")
            if isinstance(view, dict) and view.get("type") == "home":
                home = self._slack.home_view(self.team_id, self.user_id)
                if home is not None and home.get("id") == view.get("id"):
                    self._show_view(output, "pmp-bot updated your Home tab:", view)

    def _show_response_url_post(self, call: RecordedCall, output: _Output) -> None:
        effect = call.effect
        if effect is None:
            return
        surface = _Surface(
            "message",
            effect.channel_id,
            effect.ts or "",
            ephemeral=effect.ephemeral_for is not None,
        )
        where = self._where(effect.channel_id)
        if effect.action == "deleted":
            self._say(f"(pmp-bot deleted the message in {where})")
            output.changed_surfaces.add(surface)
            self._forget_message(surface)
            return
        if effect.action == "nothing":
            self._say("(pmp-bot asked to delete the original message, but there is none)")
            return
        if effect.ephemeral_for is not None and effect.ephemeral_for != self.user_id:
            self._say(
                f"(pmp-bot showed {self._user_name(effect.ephemeral_for)} "
                "a message only they can see)"
            )
            return
        private = " (only visible to you)" if effect.ephemeral_for else ""
        verb = "replaced the message" if effect.action == "replaced" else "posted"
        message = {**call.params, "blocks": _blocks_of(call.params)}
        self._show_message(output, f"pmp-bot {verb} in {where}{private}:", message, surface)

    # ------------------------------------------------------------------ view state

    def _state_of(self, view: Mapping[str, Any]) -> dict[str, dict[str, JsonDict]]:
        """What the user sees in a view's fields: their answers, else the initial values.

        Like Slack, an answer survives a view update while its block_id and action_id stay.
        """
        answers = self._answers.get(str(view.get("id", "")), {})
        state: dict[str, dict[str, JsonDict]] = {}
        for block in view.get("blocks") or []:
            if not isinstance(block, Mapping):
                continue
            block_id = str(block.get("block_id", ""))
            for element in block_elements(block):
                if element.get("type") not in STATEFUL_ELEMENT_TYPES:
                    continue
                action_id = str(element.get("action_id", ""))
                answer = answers.get(block_id, {}).get(action_id)
                if answer is not None and answer.get("type") == element.get("type"):
                    entry = answer
                else:
                    entry = initial_entry(element)
                state.setdefault(block_id, {})[action_id] = entry
        return state

    def _remember(self, view_id: str, block_id: str, action_id: str, entry: JsonDict) -> None:
        self._answers.setdefault(view_id, {}).setdefault(block_id, {})[action_id] = entry

    # ------------------------------------------------------------------ asking

    async def _read(self, prompt: str) -> str | None:
        if self._lines is None or self._ended:
            return None  # execute() called on its own: no more lines to answer with
        line = await self._lines.read(prompt)
        if line is None:
            self._ended = self._lines_ended = True
        return line

    async def _confirm(self, confirm: Mapping[str, Any]) -> bool:
        names = self._names()
        title = render_text_object(confirm.get("title"), names) or "Are you sure?"
        text = render_text_object(confirm.get("text"), names)
        yes = render_text_object(confirm.get("confirm"), names) or "Yes"
        no = render_text_object(confirm.get("deny"), names) or "Cancel"
        self._say(f"{title}: {text}" if text else title)
        answer = await self._read(f"{yes} or {no}? [y/n]: ")
        return answer is not None and answer.strip().lower() in ("y", "yes", yes.lower())

    def _steer(self, answer: str) -> _Back | _Cancel | str | None:
        """A form word as its sentinel (None for quit), or the answer as typed (a leading
        backslash taken off, so `\\cancel` types the word cancel)."""
        word = answer.strip().lower()
        if word == "back":
            return BACK
        if word == "cancel":
            return CANCEL
        if word in ("quit", "exit"):
            self._ended = True
            return None
        text = answer.strip()
        return text[1:] if text.startswith("\\") else answer

    async def _ask_value(
        self,
        label: str,
        element: Mapping[str, Any],
        entry: Mapping[str, Any] | None,
        *,
        optional: bool,
        preset: str | None = None,
        load_options: OptionsLoader | None = None,
    ) -> Answer | None:
        """Ask for an element's value: a new state entry, KEEP, BACK, CANCEL, or None when
        input ended (or the user quit).

        With `preset` (an answer typed after `press N`) nothing is read: a bad preset is
        reported and the press is dropped, so a script's next command is never eaten.
        """
        element_type = str(element.get("type", ""))
        names = self._names()
        now = value_summary(element, entry, names)
        if element_type == "file_input":
            self._say(f"{label}: files cannot be uploaded from the console (skipped).")
            return KEEP
        if element_type in EXTERNAL_TYPES and load_options is not None:
            return await self._ask_external(
                label, element, entry, optional=optional, preset=preset, load_options=load_options
            )
        multiline = element_type == "plain_text_input" and bool(element.get("multiline"))
        if preset is None:
            for line in choice_lines(element, self._choices(), names):
                self._say(line)
            if multiline and "\n" in now:
                self._say(f"{label} now:")
                self._say(indent(now, "  | "))
                now = "the lines above"
        prompt = question(label, element, optional=optional, now=now)
        while True:
            answer = preset if preset is not None else await self._read(prompt)
            if answer is None:
                return None
            if preset is None:
                steered = self._steer(answer)
                if not isinstance(steered, str):
                    return steered
                answer = steered
            text = answer.strip()
            if text == "":
                return KEEP
            if text == "-":
                if not optional:
                    self._say("This field is required; it cannot be cleared.")
                    if preset is not None:
                        return KEEP
                    continue
                return empty_entry(element)
            if multiline and preset is None:
                rest = await self._read_more_lines()
                if rest is None:
                    return None
                text = "\n".join([answer.rstrip(), *rest]).strip("\n")
            try:
                return parse_answer(element, text, choices=self._choices())
            except AnswerError as problem:
                self._say(problem.message)
                if preset is not None:
                    return KEEP
                continue

    async def _read_more_lines(self) -> list[str] | None:
        """The lines of a multi-line answer after its first, up to a line holding only
        END_OF_TEXT (None when input ended first)."""
        lines: list[str] = []
        while True:
            line = await self._read("... ")
            if line is None:
                return None
            if line.strip() == END_OF_TEXT:
                return lines
            lines.append(line.rstrip())

    async def _ask_external(
        self,
        label: str,
        element: Mapping[str, Any],
        entry: Mapping[str, Any] | None,
        *,
        optional: bool,
        preset: str | None,
        load_options: OptionsLoader,
    ) -> Answer | None:
        names = self._names()
        now = value_summary(element, entry, names)
        min_length = element.get("min_query_length", 3)
        min_length = min_length if isinstance(min_length, int) else 3
        need = "optional" if optional else "required"
        shown = f" (now: {now})" if now else ""
        prompt = f"{label} [search, {need}]{shown} - type to search: "
        query = preset
        while True:
            if query is None:
                read = await self._read(prompt)
                if read is None:
                    return None
                steered = self._steer(read)
                if not isinstance(steered, str):
                    return steered
                query = steered
            text = query.strip()
            query = None
            if text == "":
                return KEEP
            if text == "-" and optional:
                return empty_entry(element)
            if len(text) < min_length:
                self._say(f"Type at least {min_length} characters to search.")
                if preset is not None:
                    return KEEP
                continue
            options = await load_options(text)
            if options is None:
                if preset is not None:
                    return KEEP
                continue
            if not options:
                self._say("No results.")
                if preset is not None:
                    return KEEP
                continue
            for line in choice_lines(element, self._choices(), names, options=options):
                self._say(line)
            many = str(element.get("type")).startswith("multi_")
            pick_prompt = (
                "Pick numbers separated by commas (or type a new search): "
                if many
                else "Pick a number (or type a new search): "
            )
            while True:
                pick = await self._read(pick_prompt)
                if pick is None:
                    return None
                steered = self._steer(pick)
                if not isinstance(steered, str):
                    return steered
                pick = steered
                if not pick.strip():
                    return KEEP
                if not _NUMBERS.match(pick.strip()):
                    query = pick
                    break
                try:
                    return parse_answer(element, pick, options=options)
                except AnswerError as problem:
                    self._say(problem.message)

    async def _load_options(
        self,
        query: str,
        *,
        action: Mapping[str, Any],
        block_id: str,
        view: Mapping[str, Any] | None = None,
        surface: _Surface | None = None,
    ) -> list[JsonDict] | None:
        """Send a block_suggestion and read the options from the HTTP answer."""
        if view is not None:
            payload = block_suggestion(
                self._actor(),
                action_id=str(action.get("action_id", "")),
                block_id=block_id,
                value=query,
                view=view_with_state(view, self._state_of(view)),
            )
        else:
            assert surface is not None
            payload = block_suggestion(
                self._actor(),
                action_id=str(action.get("action_id", "")),
                block_id=block_id,
                value=query,
                message=self._slack.message_payload(surface.channel_id, surface.ts),
                message_ts=surface.ts,
                is_ephemeral=surface.ephemeral,
            )
        reply = await self._post(interaction_body(payload), FORM_CONTENT_TYPE, "options request")
        if reply is None or not reply.ok:
            return None
        if reply.data is None:
            self._say("The app's options answer is not JSON; Slack would show no results.")
            return None
        options = flat_options(reply.data)
        problems = options_problems(options)
        if problems:
            self._say("Slack would show no results, because: " + "; ".join(problems))
            return None
        return options

    # ------------------------------------------------------------------ pressing

    async def _press(self, pressable: _Pressable, preset: str | None) -> bool:
        """Press a numbered action; False when nothing was sent."""
        action, surface = pressable.action, pressable.surface
        if action.url:
            self._say(f"(This opens {action.url} in the browser.)")
        confirm = action.confirm
        if confirm is not None and not await self._confirm(confirm):
            self._say("Cancelled.")
            return False
        view = self._slack.view(surface.view_id) if surface.kind == "view" else None
        entry: JsonDict | None = None
        if action.needs_answer:
            current = (
                self._state_of(view).get(action.block_id, {}).get(action.action_id)
                if view
                else None
            )

            async def load(query: str) -> list[JsonDict] | None:
                return await self._load_options(
                    query,
                    action=action.element,
                    block_id=action.block_id,
                    view=view,
                    surface=surface,
                )

            placeholder = render_text_object(action.element.get("placeholder"), self._names())
            answer = await self._ask_value(
                placeholder or action.label,
                action.element,
                current,
                optional=True,
                preset=preset,
                load_options=load,
            )
            if not isinstance(answer, dict):
                if answer is not None:  # Enter, back or cancel
                    self._say("Nothing chosen.")
                return False
            entry = answer
        payload_action = action.payload_with(entry) if entry is not None else action.payload
        assert payload_action is not None
        if view is not None:
            if entry is not None:
                self._remember(str(view["id"]), action.block_id, action.action_id, entry)
            payload = block_actions_from_view(
                self._actor(),
                action=payload_action,
                view=view_with_state(view, self._state_of(view)),
                trigger_id=self._new_trigger(),
            )
        else:
            state = {action.block_id: {action.action_id: entry}} if entry is not None else {}
            payload = block_actions_from_message(
                self._actor(),
                action=payload_action,
                message=self._slack.message_payload(surface.channel_id, surface.ts),
                message_ts=surface.ts,
                is_ephemeral=surface.ephemeral,
                response_url=self._slack.new_response_url(
                    self.team_id, surface.channel_id, self.user_id, message_ts=surface.ts
                ),
                trigger_id=self._new_trigger(),
                state_values=state,
            )
        reply = await self._post(
            interaction_body(payload), FORM_CONTENT_TYPE, f"press of '{action.label}'"
        )
        self._note_ignored_ack(reply)
        return True

    # ------------------------------------------------------------------ modals

    def _top_modal(self) -> JsonDict | None:
        stack = self._slack.modal_stack(self.team_id, self.user_id)
        return stack[-1] if stack else None

    async def _run_modals(self) -> None:
        """While the user has a modal open, show it and fill it in as a form."""
        errors: dict[str, str] = {}
        # Block ids to ask next; None asks the fields of the view not asked yet.
        pending: list[str] | None = None
        shown: tuple[str, str] | None = None
        while not self._ended:
            view = self._top_modal()
            if view is None:
                return
            key = (str(view["id"]), str(view["hash"]))
            rendered = render_view(
                view, state=self._state_of(view), errors=errors, names=self._names()
            )
            if key != shown or errors:
                self._say(indent(rendered.text))
                shown = key
            modal_actions = {a.number: a for a in rendered.actions}
            asked = self._asked.setdefault(key[0], set())
            todo = [
                f
                for f in form_fields(view, self._names())
                if (f.block_id not in asked if pending is None else f.block_id in pending)
            ]
            errors = {}
            outcome = await self._fill(view, todo)
            if outcome is None:
                if self._lines_ended:
                    self._say("(Input ended with the modal still open.)")
                return
            if outcome in ("changed", "closed"):
                pending = None
                continue
            result = await self._decide(view, modal_actions)
            if result is None:
                return
            errors, pending = result

    async def _fill(
        self, view: JsonDict, todo: list[FormField]
    ) -> Literal["done", "changed", "closed"] | None:
        """Ask the fields in `todo` (None when input ended or the user quit; "changed" when
        the app changed the view after an answer with dispatch_action; "closed" when the
        user cancelled the form)."""
        view_id = str(view["id"])
        asked = self._asked.setdefault(view_id, set())
        index = 0
        while index < len(todo):
            field_to_ask = todo[index]
            entry = self._state_of(view).get(field_to_ask.block_id, {}).get(field_to_ask.action_id)

            async def load(query: str, asking: FormField = field_to_ask) -> list[JsonDict] | None:
                return await self._load_options(
                    query, action=asking.element, block_id=asking.block_id, view=view
                )

            answer = await self._ask_value(
                field_to_ask.label,
                field_to_ask.element,
                entry,
                optional=field_to_ask.optional,
                load_options=load,
            )
            if answer is None:
                return None
            if answer is CANCEL:
                await self._close(view)
                return "closed"
            if answer is BACK:
                if index == 0:
                    self._say("(There is no field before this one.)")
                else:
                    index -= 1
                continue
            asked.add(field_to_ask.block_id)
            index += 1
            if not isinstance(answer, dict):
                continue
            self._remember(view_id, field_to_ask.block_id, field_to_ask.action_id, answer)
            if field_to_ask.dispatch_action and await self._dispatch(view, field_to_ask, answer):
                return "changed"
        return "done"

    async def _dispatch(self, view: JsonDict, answered: FormField, entry: JsonDict) -> bool:
        """An input with dispatch_action sends block_actions; True when the app then changed
        or closed the view."""
        payload = block_actions_from_view(
            self._actor(),
            action=action_payload(answered.element, answered.block_id, entry=entry),
            view=view_with_state(view, self._state_of(view)),
            trigger_id=self._new_trigger(),
        )
        await self._post(
            interaction_body(payload), FORM_CONTENT_TYPE, f"answer to '{answered.label}'"
        )
        await self._show_follow_ups()
        top = self._top_modal()
        if top is not None and (top["id"], top["hash"]) == (view["id"], view["hash"]):
            return False
        if top is not None:
            self._say("(The app changed the form.)")
        return True

    async def _show_follow_ups(self) -> None:
        await self._settle()
        output = _Output()
        self._collect(output)
        self._commit(output)

    async def _decide(
        self, view: JsonDict, modal_actions: Mapping[int, NumberedAction]
    ) -> tuple[dict[str, str], list[str] | None] | None:
        """Ask what to do with the filled-in modal. Returns (errors, fields to ask next)."""
        names = self._names()
        submit = render_text_object(view.get("submit"), names) if view.get("submit") else ""
        close = render_text_object(view.get("close"), names) or "Cancel"
        prompt = (
            f"Submit '{submit}', cancel, back, edit [FIELD] or press N: "
            if submit
            else f"Close ('{close}') or press N: "
        )
        while True:
            answer = await self._read(prompt)
            if answer is None:
                self._say("(Input ended with the modal still open.)")
                return None
            choice = answer.strip().lower()
            word, _, rest = choice.partition(" ")
            if submit and choice in ("submit", "s", "y", "yes", submit.lower()):
                missing = self._missing_required(view)
                if missing:
                    # Slack's client refuses to submit until required fields are filled in.
                    self._say("Fill in the required fields first.")
                    return {f.block_id: "This field is required." for f in missing}, [
                        f.block_id for f in missing
                    ]
                return await self._submit(view)
            if choice in ("cancel", "c", "close", "n", "no", close.lower()):
                await self._close(view)
                return {}, None
            fields = form_fields(view, names)
            if fields and choice in ("edit", "e", "back", "b"):
                # edit: every field again; back: the last one.
                return {}, [f.block_id for f in (fields if choice[0] == "e" else fields[-1:])]
            if fields and word in ("edit", "e") and rest:
                chosen = _fields_named(fields, rest)
                if chosen:
                    return {}, [f.block_id for f in chosen]
                labels = ", ".join(f.label for f in fields)
                self._say(f"edit {rest}: no field is called that; the fields: {labels}.")
                continue
            if choice in ("quit", "exit"):
                self._ended = True
                return None
            if choice in ("help", "?"):
                self._say(FORM_HELP)
                continue
            if word in ("press", "p") or word.isdigit():
                number_text = rest.partition(" ")[0] if word in ("press", "p") else word
                preset = (
                    rest.partition(" ")[2] if word in ("press", "p") else rest
                ).strip() or None
                if number_text.isdigit() and int(number_text) in modal_actions:
                    pressable = _Pressable(
                        modal_actions[int(number_text)], _Surface("view", view_id=str(view["id"]))
                    )
                    if await self._press(pressable, preset):
                        await self._show_follow_ups()
                    return {}, None
                self._say(f"press {number_text}: there is no action {number_text} in this form")
                continue
            options = (
                "submit, cancel, back, edit [FIELD] or press N" if submit else "close or press N"
            )
            self._say(f"Please answer {options}.")

    def _missing_required(self, view: JsonDict) -> list[FormField]:
        state = self._state_of(view)
        return [
            f
            for f in form_fields(view, self._names())
            if not f.optional
            and f.element_type != "file_input"
            and is_empty(state.get(f.block_id, {}).get(f.action_id))
        ]

    async def _submit(self, view: JsonDict) -> tuple[dict[str, str], list[str] | None]:
        payload = view_submission(
            self._actor(),
            view=view_with_state(view, self._state_of(view)),
            trigger_id=self._new_trigger(),
        )
        reply = await self._post(interaction_body(payload), FORM_CONTENT_TYPE, "form submission")
        if reply is None or not reply.ok:
            self._say("(Slack keeps the modal open and shows the user an error.)")
            return {}, []
        data = reply.data or {}
        response_action = data.get("response_action")
        errors: dict[str, str] = {}
        pending: list[str] | None = None
        if response_action == "errors":
            errors, pending = self._apply_errors(view, data.get("errors"))
        elif response_action == "update":
            self._apply_view_change(lambda v: self._slack.replace_view(str(view["id"]), v), data)
        elif response_action == "push":
            self._apply_view_change(
                lambda v: self._slack.push_view(self.team_id, self.user_id, v), data
            )
        elif response_action == "clear":
            self._slack.clear_views(self.team_id, self.user_id)
            self._say("(The app closed all its modals.)")
        elif response_action is None:
            self._slack.close_view(str(view["id"]))
            self._say("(Modal submitted and closed.)")
        else:
            self._say(f"The app answered with an unknown response_action '{response_action}'.")
            pending = []
        await self._show_follow_ups()
        return errors, pending

    def _apply_errors(
        self, view: JsonDict, errors: object
    ) -> tuple[dict[str, str], list[str] | None]:
        input_ids = [f.block_id for f in form_fields(view)]
        if not isinstance(errors, dict) or not errors:
            self._say("The app answered response_action errors without any errors.")
            return {}, []
        wrong = [k for k in errors if k not in input_ids]
        if wrong:
            self._say(
                "The app sent errors for blocks that are not input blocks of this modal "
                f"({', '.join(wrong)}); Slack rejects that answer and shows the user an error."
            )
            return {}, []
        self._say("The app found problems in the form:")
        names = {f.block_id: f.label for f in form_fields(view, self._names())}
        for block_id, message in errors.items():
            self._say(f"  {names.get(block_id, block_id)}: {message}")
        return {k: str(v) for k, v in errors.items()}, [i for i in input_ids if i in errors]

    def _apply_view_change(
        self, change: Callable[[JsonDict], JsonDict], data: Mapping[str, Any]
    ) -> None:
        new_view = data.get("view")
        if not isinstance(new_view, dict):
            self._say("The app's response_action has no view; Slack shows the user an error.")
            return
        try:
            change(new_view)
        except StandinError as problem:
            self._say(f"Slack rejected the app's view: {problem}.")

    async def _close(self, view: JsonDict) -> None:
        if view.get("notify_on_close"):
            payload = view_closed(
                self._actor(),
                view=view_with_state(view, self._state_of(view)),
                is_cleared=bool(view.get("clear_on_close")),
            )
            await self._post(interaction_body(payload), FORM_CONTENT_TYPE, "modal close")
        if view.get("clear_on_close"):
            self._slack.clear_views(self.team_id, self.user_id)
        else:
            self._slack.close_view(str(view["id"]))
        self._say("(Modal closed.)")
        await self._show_follow_ups()


async def run_console(
    asgi_app: Any,
    *,
    signing_secret: str,
    slack: RunningSlackStandin,
    team_id: str = DEFAULT_TEAM_ID,
    user_id: str = DEFAULT_USER_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
    out: TextIO | None = None,
    lines: LineSource | Iterable[str] | AsyncIterable[str] | None = None,
    shortcuts: Mapping[str, str] | None = None,
    events_path: str = "/slack/events",
    app_idle: Callable[[], Awaitable[object]] | None = None,
    extra_help: str = "",
    commands: Iterable[str] | None = None,
    pmp_change: Callable[[str], Awaitable[str]] | None = None,
) -> None:
    """Run the console against an ASGI app serving Bolt at `events_path`, in this process.

    Reads a terminal or stdin unless `lines` are given. `app_idle` returns once the app has
    finished its work after the acks (see ConsoleShell).
    """
    stream = out if out is not None else sys.stdout
    transport = httpx.ASGITransport(app=asgi_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pmp-bot.console") as http:
        shell = ConsoleShell(
            http=http,
            signing_secret=signing_secret,
            slack=slack,
            team_id=team_id,
            user_id=user_id,
            channel_id=channel_id,
            out=stream,
            events_path=events_path,
            shortcuts=shortcuts,
            app_idle=app_idle,
            extra_help=extra_help,
            commands=commands,
            pmp_change=pmp_change,
        )
        await shell.run(lines if lines is not None else stdin_lines(stream))


__all__ = [
    "HELP",
    "WORK_TIMEOUT_SECONDS",
    "ConsoleShell",
    "LineSource",
    "ScriptedLines",
    "TerminalLines",
    "run_console",
    "stdin_lines",
]
