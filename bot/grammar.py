"""The `/pmp` grammar: the text of a slash command in, a typed `Command` out.

Pure (no I/O, no clock), so every rule is a row in a table test. The command is registered
with `should_escape: true`, so Slack sends `&`, `<` and `>` typed by the user as `&amp;`,
`&lt;`, `&gt;`, and channels, users and links as `<#C123|name>`, `<@U123>`,
`<https://x|label>`. `parse` never raises: whatever it does not understand becomes an
UNKNOWN command or a command with a `problem` to show the user.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, get_args

from bot.pmp.links import RecordKind as PmpRecordKind
from bot.text import escape_mrkdwn

# The slash command, as registered in the manifests; replies name it in the commands they suggest.
SLASH_COMMAND = "/pmp"
# Far more than anyone types; bounds the work done on pasted text.
MAX_TEXT_CHARS = 4000
MAX_QUERY_CHARS = 500
# Long enough to recognise a typo, short enough to quote back in a reply.
MAX_UNKNOWN_WORD_CHARS = 50
# PMP (Perfex) keeps ids in MySQL INT columns.
MAX_RECORD_ID = 2**31 - 1


class CommandAction(StrEnum):
    HELP = "help"
    SEARCH = "search"
    SHOW = "show"
    NEW = "new"
    EDIT = "edit"
    DELETE = "delete"
    CONNECT = "connect"
    DISCONNECT = "disconnect"
    STATUS = "status"
    NOTIFY = "notify"
    SETTINGS = "settings"
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    SUBSCRIPTIONS = "subscriptions"
    STAFF = "staff"
    UNKNOWN = "unknown"


class RecordKind(StrEnum):
    CUSTOMER = "customer"
    LEAD = "lead"
    PROJECT = "project"
    MILESTONE = "milestone"
    TICKET = "ticket"


_PMP_KINDS: dict[RecordKind, PmpRecordKind] = {
    RecordKind.CUSTOMER: "customer",
    RecordKind.LEAD: "lead",
    RecordKind.PROJECT: "project",
    RecordKind.MILESTONE: "milestone",
    RecordKind.TICKET: "ticket",
}


@dataclass(frozen=True)
class ChannelRef:
    """A Slack channel as the user named it: by id (`<#C123|name>`, `C123`), by name
    (`#sales`), or both. Whoever acts on it resolves the missing half."""

    id: str | None
    name: str | None


# What a channel can subscribe to (bot.storage.subscriptions.SubscriptionKind).
SubscribeKind = Literal["tickets", "leads", "projects", "milestones", "customers", "lookups"]
SUBSCRIBE_KINDS: tuple[SubscribeKind, ...] = get_args(SubscribeKind)
FilterKey = Literal["department", "priority", "status", "customer", "project"]
FILTER_KEYS: tuple[FilterKey, ...] = get_args(FilterKey)
CardStyleWord = Literal["compact", "full"]


@dataclass(frozen=True)
class FilterTerm:
    """One `key:value` filter as typed: `number` when the value is a number (an id),
    otherwise `name` (resolved later against the workspace's names or PMP)."""

    key: FilterKey
    number: int | None = None
    name: str | None = None

    @property
    def typed(self) -> str:
        """The filter as the user could type it again."""
        value = str(self.number) if self.number is not None else (self.name or "")
        return f'{self.key}:"{value}"' if " " in value else f"{self.key}:{value}"


@dataclass(frozen=True)
class SubscriptionRequest:
    """What `/pmp subscribe|unsubscribe|subscriptions` asked for. `channel` None means the
    channel the command was typed in; `broadcast` / `style` None mean "not said";
    `every_kind` is `unsubscribe all`."""

    channel: ChannelRef | None = None
    kind: SubscribeKind | None = None
    filters: tuple[FilterTerm, ...] = ()
    broadcast: bool | None = None
    style: CardStyleWord | None = None
    every_kind: bool = False


StaffVerb = Literal["show", "list", "set", "unset"]


@dataclass(frozen=True)
class StaffRequest:
    """What `/pmp staff` asked: `show` a user's staff member (the caller's when `user_id`
    is None), `list` everyone linked, `set` `user_id`'s to `target` (a staff member's name,
    e-mail or number, as typed) or `unset` it."""

    verb: StaffVerb
    user_id: str | None = None
    target: str | None = None
    # `@maria` typed without picking the person: Slack sent the name, not who it is.
    unresolved_user: str | None = None


@dataclass(frozen=True)
class Command:
    """One parsed `/pmp` command.

    - `query`: the search words (SEARCH) or the optional subject/name after `new` (NEW),
      unescaped plain text.
    - `topic`: a key of `HELP_TOPICS` for HELP, None for the overview.
    - `channel` / `notify_off`: for NOTIFY; neither set means "show the current channel".
    - `unknown_word` / `suggestion`: the word not understood, and the command (after
      `/pmp`) the user probably meant, with their other words kept (`customer acme` for
      `custmer acme`, `help notify` for `help notfy`); for UNKNOWN and `help <unknown topic>`.
    - `problem`: set when the command is understood but incomplete; show it instead of acting.
    - `subscription`: for SUBSCRIBE, UNSUBSCRIBE and SUBSCRIPTIONS.
    """

    action: CommandAction
    kind: RecordKind | None = None
    query: str | None = None
    record_id: int | None = None
    topic: str | None = None
    channel: ChannelRef | None = None
    notify_off: bool = False
    unknown_word: str | None = None
    suggestion: str | None = None
    problem: str | None = None
    subscription: SubscriptionRequest | None = None
    staff: StaffRequest | None = None

    @property
    def record_kind(self) -> PmpRecordKind | None:
        """`kind` as the PMP client and the card builders name it."""
        return None if self.kind is None else _PMP_KINDS[self.kind]


RECORD_KIND_ALIASES: dict[str, RecordKind] = {
    "customer": RecordKind.CUSTOMER,
    "customers": RecordKind.CUSTOMER,
    "c": RecordKind.CUSTOMER,
    "client": RecordKind.CUSTOMER,
    "clients": RecordKind.CUSTOMER,
    "cust": RecordKind.CUSTOMER,
    "lead": RecordKind.LEAD,
    "leads": RecordKind.LEAD,
    "l": RecordKind.LEAD,
    "project": RecordKind.PROJECT,
    "projects": RecordKind.PROJECT,
    "p": RecordKind.PROJECT,
    "proj": RecordKind.PROJECT,
    "milestone": RecordKind.MILESTONE,
    "milestones": RecordKind.MILESTONE,
    "m": RecordKind.MILESTONE,
    "ms": RecordKind.MILESTONE,
    "ticket": RecordKind.TICKET,
    "tickets": RecordKind.TICKET,
    "t": RecordKind.TICKET,
}

_COMMAND_WORDS: dict[str, CommandAction] = {
    "help": CommandAction.HELP,
    "h": CommandAction.HELP,
    "?": CommandAction.HELP,
    "connect": CommandAction.CONNECT,
    "disconnect": CommandAction.DISCONNECT,
    "status": CommandAction.STATUS,
    "notify": CommandAction.NOTIFY,
    "notifications": CommandAction.NOTIFY,
    "settings": CommandAction.SETTINGS,
    "setting": CommandAction.SETTINGS,
    "subscribe": CommandAction.SUBSCRIBE,
    "sub": CommandAction.SUBSCRIBE,
    "unsubscribe": CommandAction.UNSUBSCRIBE,
    "unsub": CommandAction.UNSUBSCRIBE,
    "subscriptions": CommandAction.SUBSCRIPTIONS,
    "subscription": CommandAction.SUBSCRIPTIONS,
    "subs": CommandAction.SUBSCRIPTIONS,
    "staff": CommandAction.STAFF,
}

# Words that follow a record kind (`ticket new`) or precede it (`new ticket`). `rm` and
# `open` are left out on purpose: `open` reads as "open tickets", and a search for a
# two-letter word should not delete anything.
_RECORD_VERBS: dict[str, CommandAction] = {
    "new": CommandAction.NEW,
    "create": CommandAction.NEW,
    "add": CommandAction.NEW,
    "edit": CommandAction.EDIT,
    "update": CommandAction.EDIT,
    "delete": CommandAction.DELETE,
    "del": CommandAction.DELETE,
    "remove": CommandAction.DELETE,
    "show": CommandAction.SHOW,
    "view": CommandAction.SHOW,
    "search": CommandAction.SEARCH,
    "find": CommandAction.SEARCH,
}

_NOTIFY_OFF_WORDS = frozenset({"off", "none", "stop"})

HELP_TOPICS: dict[str, list[tuple[str, str]]] = {
    "customer": [
        ("customer acme", "finds customers by name"),
        ("customer 42", "shows customer 42"),
        ("customer new", "adds a customer"),
        ("customer edit 42", "changes customer 42"),
        ("customer delete 42", "deletes customer 42"),
    ],
    "lead": [
        ("lead jane", "finds leads by name, company or email"),
        ("lead 42", "shows lead 42"),
        ("lead new", "adds a lead"),
        ("lead edit 42", "changes lead 42"),
        ("lead delete 42", "deletes lead 42"),
    ],
    "project": [
        ("project website", "finds projects by name"),
        ("project 42", "shows project 42"),
        ("project new", "starts a project"),
        ("project edit 42", "changes project 42"),
        ("project delete 42", "deletes project 42"),
    ],
    "milestone": [
        ("milestone launch", "finds milestones by name"),
        ("milestone 12", "shows milestone 12"),
        ("milestone new", "adds a milestone to a project"),
        ("milestone edit 12", "changes milestone 12"),
        ("milestone delete 12", "deletes milestone 12"),
    ],
    "ticket": [
        ("ticket printer", "finds tickets by subject"),
        ("ticket 42", "shows ticket 42"),
        ("ticket new Printer is jammed", "opens a ticket; the subject is optional"),
        ("ticket edit 42", "changes ticket 42"),
        ("ticket delete 42", "deletes ticket 42"),
    ],
    "notify": [
        (
            "notify #sales",
            "posts a note in #sales when someone looks up or changes a record _(admins)_",
        ),
        ("notify", "shows which channel gets those notes"),
        ("notify off", "stops the notes _(admins)_"),
    ],
    "subscribe": [
        ("subscribe tickets", "posts new tickets and their changes in this channel"),
        (
            "subscribe #support tickets department:Support priority:high",
            "only some tickets, in #support",
        ),
        ("subscribe #sales leads broadcast full", "status changes also in the channel, full cards"),
        ("subscriptions", "shows what this channel gets, to edit or remove"),
        ("unsubscribe tickets", "stops ticket posts here (`unsubscribe all` stops everything)"),
    ],
    "staff": [
        ("staff", "shows which PMP staff member you are"),
        (
            "staff @maria Maria Garcia",
            "makes @maria PMP's Maria Garcia (a name, e-mail or number) _(admins)_",
        ),
        ("staff @maria none", "unlinks @maria _(admins)_"),
        ("staff list", "shows who is linked to which staff member _(admins)_"),
    ],
    "workspace": [
        ("connect", "connects this workspace to your PMP"),
        ("disconnect", "disconnects this workspace from PMP"),
        ("status", "shows whether this workspace is connected to PMP"),
        ("settings", "opens the settings for this workspace"),
    ],
    "help": [
        ("help", "shows what I can do"),
        ("help ticket", "shows the commands for one topic, like ticket or notify"),
    ],
}

_TOPIC_WORDS: dict[str, str] = {
    **{alias: kind.value for alias, kind in RECORD_KIND_ALIASES.items()},
    "notify": "notify",
    "notifications": "notify",
    "subscribe": "subscribe",
    "unsubscribe": "subscribe",
    "subscriptions": "subscribe",
    "subscription": "subscribe",
    "staff": "staff",
    "connect": "workspace",
    "disconnect": "workspace",
    "status": "workspace",
    "settings": "workspace",
    "setting": "workspace",
    "workspace": "workspace",
    "help": "help",
    "h": "help",
    "?": "help",
}

# Every word the grammar knows, mapped to the word a did-you-mean should offer.
_CANONICAL_WORDS: dict[str, str] = {
    **{alias: kind.value for alias, kind in RECORD_KIND_ALIASES.items()},
    **{word: action.value for word, action in _COMMAND_WORDS.items()},
    **{word: action.value for word, action in _RECORD_VERBS.items()},
}

_EXAMPLE_WITHOUT_KIND: dict[CommandAction, str] = {
    CommandAction.NEW: "ticket new",
    CommandAction.SEARCH: "customer acme",
    CommandAction.SHOW: "project 12",
    CommandAction.EDIT: "lead edit 12",
    CommandAction.DELETE: "ticket delete 12",
}

_SLACK_ESCAPES = {"&amp;": "&", "&lt;": "<", "&gt;": ">"}
_SLACK_ESCAPE_RE = re.compile(r"&(?:amp|lt|gt);")
_SLACK_REFERENCE_RE = re.compile(r"<([^<>]+)>")
# Slack on phones and Macs turns straight quotes into curly ones. Single quotes stay literal:
# they are apostrophes in names like O'Brien far more often than quotes.
_QUOTES = frozenset('"“”„‟')
_CHANNEL_ID_RE = re.compile(r"[CG][A-Z0-9]{2,}")
# Slack channel names: lowercase letters, digits, `-` and `_`, at most 80 characters. `\w`
# admits other scripts' letters too, which some workspaces allow.
_CHANNEL_NAME_RE = re.compile(r"[\w-]{1,80}")
_RECORD_ID_RE = re.compile(r"#?([0-9]+)")
# `0`, `#0`, `-4`: shaped like a record number but none PMP can have (ids start at 1).
_NOT_AN_ID_RE = re.compile(r"#?(?:0+|-[0-9]+)")
# Longest suggested command and search hint: a reply quotes them whole, so they stay short.
MAX_SUGGESTION_CHARS = 120
MAX_HINT_TERM_CHARS = 60


@dataclass(frozen=True)
class _Token:
    text: str
    # The lowercased word when the token is plain typing: unquoted and no Slack reference.
    keyword: str | None
    # Set when the token is exactly one `<#C123|name>` reference.
    channel: ChannelRef | None


def parse(text: str) -> Command:
    """Parses the text of a `/pmp` command (as Slack sends it, escaped)."""
    tokens = _tokenize(_clean(text))
    if not tokens:
        return Command(CommandAction.HELP)
    first, rest = tokens[0], tokens[1:]
    word = first.keyword
    if word is None:
        return _unknown(first.text, rest)
    if word in RECORD_KIND_ALIASES:
        return _parse_record_command(RECORD_KIND_ALIASES[word], rest)
    action = _COMMAND_WORDS.get(word)
    if action is CommandAction.HELP:
        return _parse_help(rest)
    if action is CommandAction.NOTIFY:
        return _parse_notify(rest)
    if action in _SUBSCRIPTION_ACTIONS:
        return _parse_subscription(action, rest)
    if action is CommandAction.STAFF:
        return _parse_staff(_clean(text).split(maxsplit=1)[1:])
    if action is not None:
        return Command(action)
    verb = _RECORD_VERBS.get(word)
    if verb is not None:
        return _parse_verb_first(verb, first, rest)
    return _unknown(first.text, rest)


def parse_channel_ref(text: str) -> ChannelRef | None:
    """A channel from `<#C123|name>`, `<#C123>`, `#name`, a bare id (`C123`, `G123`) or a bare
    name (`sales`); None when the text is not one channel."""
    tokens = _tokenize(_clean(text))
    if len(tokens) != 1:
        return None
    return _channel_from_token(tokens[0])


def is_channel_id(text: str) -> bool:
    """Whether `text` has the shape of a Slack channel id (`C…` or, for old private
    channels, `G…`: uppercase letters and digits, with at least one digit)."""
    return bool(_CHANNEL_ID_RE.fullmatch(text)) and any(ch.isdigit() for ch in text)


def _parse_record_command(kind: RecordKind, rest: list[_Token]) -> Command:
    if not rest:
        return Command(CommandAction.HELP, kind=kind, topic=kind.value)
    verb = _RECORD_VERBS.get(rest[0].keyword or "")
    if verb is CommandAction.SEARCH:
        query = _query(rest[1:])
        if not query:
            problem = (
                f"`{SLASH_COMMAND} {kind} search` needs words to look for, "
                f"like `{SLASH_COMMAND} {kind} search acme`."
            )
            return Command(verb, kind=kind, problem=problem)
        return Command(verb, kind=kind, query=query)
    if verb is CommandAction.NEW:
        return Command(verb, kind=kind, query=_query(rest[1:]) or None)
    if verb is not None:
        return _with_record_id(verb, kind, rest[1:])
    # `ticket 12 edit` reads as naturally as `ticket edit 12`.
    trailing_verb = _trailing_verb(rest)
    if len(rest) == 1 or trailing_verb is not None:
        action = trailing_verb or CommandAction.SHOW
        if _not_an_id(rest[0]):
            return _invalid_id(action, kind, rest[0])
        record_id = _record_id(rest[0])
        if record_id is not None:
            return Command(action, kind=kind, record_id=record_id)
    return Command(CommandAction.SEARCH, kind=kind, query=_query(rest))


def _trailing_verb(rest: list[_Token]) -> CommandAction | None:
    """The verb of `ticket 12 edit`: a number then one of the verbs that take it."""
    if len(rest) != 2:
        return None
    verb = _RECORD_VERBS.get(rest[1].keyword or "")
    return verb if verb in (CommandAction.SHOW, CommandAction.EDIT, CommandAction.DELETE) else None


def _not_an_id(token: _Token) -> bool:
    return token.keyword is not None and _NOT_AN_ID_RE.fullmatch(token.keyword) is not None


def _invalid_id(verb: CommandAction, kind: RecordKind, token: _Token) -> Command:
    """`ticket 0`: a number no record has; say so instead of searching for it."""
    problem = (
        f"`{token.text}` isn't a {kind} number: PMP numbers start at 1, like "
        f"`{SLASH_COMMAND} {kind} 42`. To search for the text, use "
        f"`{SLASH_COMMAND} {kind} search {token.text}`."
    )
    return Command(verb, kind=kind, problem=problem)


def _with_record_id(verb: CommandAction, kind: RecordKind, rest: list[_Token]) -> Command:
    if len(rest) == 1 and _not_an_id(rest[0]):
        return _invalid_id(verb, kind, rest[0])
    record_id = _record_id(rest[0]) if len(rest) == 1 else None
    if record_id is None:
        usage = f"{SLASH_COMMAND} {kind} {verb}"
        problem = f"`{usage}` needs a {kind} number, like `{usage} 12`."
        return Command(verb, kind=kind, problem=problem)
    return Command(verb, kind=kind, record_id=record_id)


def _parse_verb_first(verb: CommandAction, first: _Token, rest: list[_Token]) -> Command:
    kind = RECORD_KIND_ALIASES.get(rest[0].keyword or "") if rest else None
    if kind is not None:
        return _parse_record_command(kind, [first, *rest[1:]])
    example = _EXAMPLE_WITHOUT_KIND.get(verb, "ticket new")
    problem = (
        "Tell me which kind of record: customer, lead, project, milestone or ticket, "
        f"like `{SLASH_COMMAND} {example}`."
    )
    return Command(verb, problem=problem)


def _parse_help(rest: list[_Token]) -> Command:
    if not rest:
        return Command(CommandAction.HELP)
    word = rest[0].keyword or rest[0].text.casefold()
    topic = _TOPIC_WORDS.get(word)
    if topic is not None:
        kind = RECORD_KIND_ALIASES.get(word)
        return Command(CommandAction.HELP, kind=kind, topic=topic)
    if word in _CANONICAL_WORDS:
        # `help edit`: a real word without a topic of its own; the overview covers it.
        return Command(CommandAction.HELP)
    topic_word = _suggest(word, _TOPIC_WORDS)
    return Command(
        CommandAction.HELP,
        unknown_word=_shorten(rest[0].text),
        suggestion=None if topic_word is None else f"help {topic_word}",
    )


def _parse_notify(rest: list[_Token]) -> Command:
    if not rest:
        return Command(CommandAction.NOTIFY)
    if len(rest) == 1:
        if rest[0].keyword in _NOTIFY_OFF_WORDS:
            return Command(CommandAction.NOTIFY, notify_off=True)
        channel = _channel_from_token(rest[0])
        if channel is not None:
            return Command(CommandAction.NOTIFY, channel=channel)
    problem = (
        f"`{SLASH_COMMAND} notify` takes one channel, like `{SLASH_COMMAND} notify #sales`, "
        f"or `{SLASH_COMMAND} notify off` to stop."
    )
    return Command(CommandAction.NOTIFY, problem=problem)


_STAFF_LIST_WORDS = frozenset({"list", "all"})
_STAFF_NONE_WORDS = frozenset({"none", "nobody", "off", "remove", "unlink"})
_USER_MENTION_RE = re.compile(r"<@([UW][A-Z0-9]{2,30})(?:\|[^<>]*)?>\s*(.*)", re.DOTALL)
# `@maria` as typed when the person wasn't picked from Slack's list.
_TYPED_USER_RE = re.compile(r"@([^\s<>@]{1,80})\s*(.*)", re.DOTALL)
_STAFF_TARGET_MAX = 200


def _parse_staff(after_word: list[str]) -> Command:
    """`/pmp staff`, `staff list`, `staff @user`, `staff @user <name, e-mail or number>`,
    `staff @user none`. The user must be a Slack mention (`<@U123|name>`, as Slack sends it)."""
    rest = after_word[0].strip() if after_word else ""
    if not rest:
        return Command(CommandAction.STAFF, staff=StaffRequest("show"))
    if rest.casefold() in _STAFF_LIST_WORDS:
        return Command(CommandAction.STAFF, staff=StaffRequest("list"))
    mention = _USER_MENTION_RE.fullmatch(rest) or _TYPED_USER_RE.fullmatch(rest)
    if mention is None:
        problem = (
            f"Mention the person with @, like `{SLASH_COMMAND} staff @maria Maria Garcia`. "
            f"`{SLASH_COMMAND} staff` shows your own staff member, `{SLASH_COMMAND} staff list` "
            "everyone linked."
        )
        return Command(CommandAction.STAFF, problem=problem)
    typed_name = mention.re is _TYPED_USER_RE
    user_id = None if typed_name else mention.group(1)
    unresolved = mention.group(1) if typed_name else None
    typed = _SLACK_REFERENCE_RE.sub(
        lambda ref: _decode_reference(ref.group(1))[0], mention.group(2)
    )
    target = " ".join(_unescape(typed).strip().strip("".join(_QUOTES)).split())
    if not target:
        return Command(
            CommandAction.STAFF, staff=StaffRequest("show", user_id, unresolved_user=unresolved)
        )
    if target.casefold() in _STAFF_NONE_WORDS:
        return Command(
            CommandAction.STAFF, staff=StaffRequest("unset", user_id, unresolved_user=unresolved)
        )
    return Command(
        CommandAction.STAFF,
        staff=StaffRequest("set", user_id, target[:_STAFF_TARGET_MAX], unresolved_user=unresolved),
    )


_SUBSCRIPTION_ACTIONS = frozenset(
    {CommandAction.SUBSCRIBE, CommandAction.UNSUBSCRIBE, CommandAction.SUBSCRIPTIONS}
)

_SUBSCRIBE_KIND_OF: dict[RecordKind, SubscribeKind] = {
    RecordKind.CUSTOMER: "customers",
    RecordKind.LEAD: "leads",
    RecordKind.PROJECT: "projects",
    RecordKind.MILESTONE: "milestones",
    RecordKind.TICKET: "tickets",
}
SUBSCRIBE_KIND_WORDS: dict[str, SubscribeKind] = {
    **{
        alias: _SUBSCRIBE_KIND_OF[kind]
        for alias, kind in RECORD_KIND_ALIASES.items()
        if len(alias) > 1  # `subscribe t` reads like a typo, not a kind
    },
    "lookups": "lookups",
    "lookup": "lookups",
    "notices": "lookups",
}

FILTER_KEY_WORDS: dict[str, FilterKey] = {
    "department": "department",
    "departments": "department",
    "dept": "department",
    "priority": "priority",
    "priorities": "priority",
    "prio": "priority",
    "status": "status",
    "state": "status",
    "customer": "customer",
    "client": "customer",
    "project": "project",
    "proj": "project",
}

# Option words: what `broadcast` and card `style` become.
_BROADCAST_WORDS: dict[str, bool] = {
    "broadcast": True,
    "thread-only": False,
    "thread_only": False,
    "threadonly": False,
    "threaded": False,
    "threads": False,
    "thread": False,
}
_STYLE_WORDS: dict[str, CardStyleWord] = {"compact": "compact", "full": "full"}
_EVERY_KIND_WORDS = frozenset({"all", "everything"})

_KIND_LIST = "tickets, leads, projects, milestones, customers or lookups"
_SUBSCRIBE_EXAMPLE = f"`{SLASH_COMMAND} subscribe #support tickets priority:high`"


class _Refused(Exception):
    """A subscription command understood well enough to say what to fix."""


def _parse_subscription(action: CommandAction, rest: list[_Token]) -> Command:
    try:
        request = _read_subscription(action, rest)
    except _Refused as refused:
        return Command(action, problem=str(refused))
    return Command(action, subscription=request)


def _read_subscription(action: CommandAction, rest: list[_Token]) -> SubscriptionRequest:
    verb = action.value
    channel: ChannelRef | None = None
    kind: SubscribeKind | None = None
    filters: dict[FilterKey, FilterTerm] = {}
    broadcast: bool | None = None
    style: CardStyleWord | None = None
    every_kind = False
    index = 0
    while index < len(rest):
        token = rest[index]
        index += 1
        explicit = _explicit_channel(token)
        if explicit is not None:
            if channel is not None and channel != explicit:
                raise _Refused("One channel at a time, please: name just one `#channel`.")
            channel = explicit
            continue
        word = token.keyword
        if word is None:
            raise _Refused(_unknown_subscription_word(verb, token, rest, action))
        if ":" in word:
            term, index = _filter_term(token, rest, index)
            if term.key in filters and filters[term.key] != term:
                raise _Refused(f"Give `{term.key}:` once, like `{_echo(term.typed)}`.")
            filters[term.key] = term
        elif word in SUBSCRIBE_KIND_WORDS and action is not CommandAction.SUBSCRIPTIONS:
            named = SUBSCRIBE_KIND_WORDS[word]
            if kind is not None and kind != named:
                raise _Refused(
                    f"One kind at a time, please: `{SLASH_COMMAND} {verb} {kind}`, then "
                    f"`{SLASH_COMMAND} {verb} {named}`."
                )
            kind = named
        elif word in _EVERY_KIND_WORDS and action is CommandAction.UNSUBSCRIBE:
            every_kind = True
        elif word in _BROADCAST_WORDS and action is CommandAction.SUBSCRIBE:
            said = _BROADCAST_WORDS[word]
            if broadcast is not None and broadcast != said:
                raise _Refused("Choose `thread-only` or `broadcast`, not both.")
            broadcast = said
        elif word in _STYLE_WORDS and action is CommandAction.SUBSCRIBE:
            chosen = _STYLE_WORDS[word]
            if style is not None and style != chosen:
                raise _Refused("Choose `compact` or `full` cards, not both.")
            style = chosen
        else:
            raise _Refused(_unknown_subscription_word(verb, token, rest, action))
    request = SubscriptionRequest(
        channel=channel,
        kind=kind,
        filters=tuple(filters[key] for key in FILTER_KEYS if key in filters),
        broadcast=broadcast,
        style=style,
        every_kind=every_kind,
    )
    _check_complete(action, request)
    return request


def _check_complete(action: CommandAction, request: SubscriptionRequest) -> None:
    if action is CommandAction.SUBSCRIPTIONS:
        if request.filters:
            raise _Refused(
                f"`{SLASH_COMMAND} subscriptions` takes just a channel, like "
                f"`{SLASH_COMMAND} subscriptions #support`."
            )
        return
    if action is CommandAction.UNSUBSCRIBE:
        if request.every_kind and (request.kind is not None or request.filters):
            raise _Refused(
                f"`{SLASH_COMMAND} unsubscribe all` stops everything the channel gets; to stop "
                f"one kind, leave out `all`, like `{SLASH_COMMAND} unsubscribe tickets`."
            )
        if request.kind is None and not request.every_kind:
            raise _Refused(
                f"Tell me what to stop: {_KIND_LIST}, like `{SLASH_COMMAND} unsubscribe tickets`, "
                f"or `{SLASH_COMMAND} unsubscribe all`."
            )
        return
    if request.kind is None:
        raise _Refused(
            f"Tell me what the channel should get: {_KIND_LIST}, like {_SUBSCRIBE_EXAMPLE}."
        )


def _explicit_channel(token: _Token) -> ChannelRef | None:
    """A channel the user clearly named: `<#C123|name>`, `#name` or a channel id. A bare
    word is not one here (it is more likely a kind with a typo)."""
    if token.channel is not None:
        return token.channel
    if token.keyword is None:
        return None
    text = token.text
    if is_channel_id(text):
        return ChannelRef(id=text, name=None)
    name = text.removeprefix("#").casefold()
    if text.startswith("#") and _CHANNEL_NAME_RE.fullmatch(name) and not name.isdigit():
        return ChannelRef(id=None, name=name)
    return None


def _filter_term(token: _Token, rest: list[_Token], index: int) -> tuple[FilterTerm, int]:
    """Reads `key:value`, `key:"two words"` or `key: value` starting at `token`; returns the
    term and the index of the first token after it."""
    key_text, _, value = token.text.partition(":")
    key = FILTER_KEY_WORDS.get(key_text.strip().casefold())
    if key is None:
        known = _suggest(key_text.casefold(), {word: word for word in FILTER_KEYS})
        hint = f" Did you mean `{known}:`?" if known else ""
        raise _Refused(
            f"I don't know the filter `{_echo(key_text)}:`.{hint} Filters are "
            "`department:`, `priority:`, `status:`, `customer:` and `project:`."
        )
    if not value and index < len(rest):
        value, index = rest[index].text, index + 1  # `customer: "Acme Inc"`
    if value[:1] in _QUOTES:
        # `customer:"Acme Inc"`: the phrase runs to the token that closes the quote.
        words = [value[1:]]
        while not (words[-1] and words[-1][-1] in _QUOTES) and index < len(rest):
            words.append(rest[index].text)
            index += 1
        value = " ".join(words)
        if value[-1:] in _QUOTES:
            value = value[:-1]
    value = " ".join(value.split())
    if not value:
        raise _Refused(f"`{key}:` needs a value, like `{_FILTER_EXAMPLES[key]}`.")
    number = _record_id(_Token(text=value, keyword=value.casefold(), channel=None))
    if number is not None:
        return FilterTerm(key, number=number), index
    if _NOT_AN_ID_RE.fullmatch(value):
        raise _Refused(
            f"`{key}:{_echo(value)}` isn't a {key} number: PMP numbers start at 1, like "
            f"`{_FILTER_EXAMPLES[key]}`."
        )
    return FilterTerm(key, name=value[:MAX_QUERY_CHARS]), index


_FILTER_EXAMPLES: dict[FilterKey, str] = {
    "department": "department:2",
    "priority": "priority:high",
    "status": "status:open",
    "customer": "customer:12",
    "project": "project:7",
}


def _echo(text: str) -> str:
    """User text quoted back in a code span: escaped, so it can't mention or link anyone,
    and without backticks, which would end the span."""
    return escape_mrkdwn(_shorten(text).replace("`", "'"))


def _unknown_subscription_word(
    verb: str, token: _Token, rest: list[_Token], action: CommandAction
) -> str:
    known: dict[str, str] = {}
    if action is not CommandAction.SUBSCRIPTIONS:
        known |= {word: kind for word, kind in SUBSCRIBE_KIND_WORDS.items()}
    if action is CommandAction.SUBSCRIBE:
        known |= {word: word for word in [*_BROADCAST_WORDS, *_STYLE_WORDS]}
    if action is CommandAction.UNSUBSCRIBE:
        known["all"] = "all"
    word = token.text.casefold()
    better = _suggest(word, known) if token.keyword is not None else None
    text = f"I don't know `{_echo(token.text)}` here."
    if better is not None:
        words = [better if other is token else other.text for other in rest]
        whole = " ".join([verb, *(f'"{w}"' if " " in w else w for w in words)])
        if len(whole) <= MAX_SUGGESTION_CHARS and "`" not in whole:
            return f"{text} Did you mean `{SLASH_COMMAND} {escape_mrkdwn(whole)}`?"
        return f"{text} Did you mean `{better}`?"
    if action is CommandAction.SUBSCRIPTIONS:
        return f"{text} `{SLASH_COMMAND} subscriptions` takes just a channel, like `#support`."
    if action is CommandAction.UNSUBSCRIBE:
        return f"{text} Name a kind ({_KIND_LIST}) and the filters to stop, or `all`."
    return (
        f"{text} Name a kind ({_KIND_LIST}), filters like `priority:high`, and options "
        f"`thread-only` or `broadcast`, `compact` or `full`, like {_SUBSCRIBE_EXAMPLE}."
    )


def _unknown(word: str, rest: list[_Token]) -> Command:
    known_word = _suggest(word.casefold(), _CANONICAL_WORDS)
    return Command(
        CommandAction.UNKNOWN,
        unknown_word=_shorten(word),
        suggestion=None if known_word is None else _corrected(known_word, rest),
    )


def _corrected(known_word: str, rest: list[_Token]) -> str:
    """The command with its first word corrected and the user's other words kept, so the
    suggestion can be pasted as it is; just the word when the whole would be too long."""
    words = [f'"{token.text}"' if " " in token.text else token.text for token in rest]
    whole = " ".join([known_word, *words])
    if (
        len(whole) > MAX_SUGGESTION_CHARS
        or "`" in whole  # it would end the code span the reply quotes it in
        or parse(whole).action is CommandAction.UNKNOWN
    ):
        return known_word
    return whole


def _suggest(word: str, known: dict[str, str]) -> str | None:
    matches = difflib.get_close_matches(word[:MAX_UNKNOWN_WORD_CHARS], list(known), n=1)
    return known[matches[0]] if matches else None


def _shorten(word: str) -> str:
    if len(word) <= MAX_UNKNOWN_WORD_CHARS:
        return word
    return word[: MAX_UNKNOWN_WORD_CHARS - 1] + "…"


def _query(tokens: list[_Token]) -> str:
    return " ".join(token.text for token in tokens)[:MAX_QUERY_CHARS].rstrip()


def _record_id(token: _Token) -> int | None:
    if token.keyword is None:
        return None
    match = _RECORD_ID_RE.fullmatch(token.keyword)
    if match is None:
        return None
    digits = match.group(1).lstrip("0")
    # Checked before int(): Python refuses to convert thousands of digits.
    if not digits or len(digits) > len(str(MAX_RECORD_ID)):
        return None
    value = int(digits)
    return value if value <= MAX_RECORD_ID else None


def _channel_from_token(token: _Token) -> ChannelRef | None:
    if token.channel is not None:
        return token.channel
    text = token.text
    if is_channel_id(text):
        return ChannelRef(id=text, name=None)
    name = text.removeprefix("#").casefold()
    if _CHANNEL_NAME_RE.fullmatch(name):
        return ChannelRef(id=None, name=name)
    return None


def _clean(text: str) -> str:
    """Control characters become spaces (tabs and newlines separate words); zero-width and
    other invisible format characters, which come with pasted text, are removed."""
    cleaned: list[str] = []
    for char in text[:MAX_TEXT_CHARS]:
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp"):
            cleaned.append(" ")
        elif category not in ("Cf", "Cs"):
            cleaned.append(char)
    return "".join(cleaned)


def _unescape(text: str) -> str:
    # One pass, so `&amp;lt;` (a user typing `&lt;`) becomes `&lt;`, not `<`.
    return _SLACK_ESCAPE_RE.sub(lambda match: _SLACK_ESCAPES[match.group(0)], text)


def _tokenize(text: str) -> list[_Token]:
    tokens, unclosed_quote_at = _scan(text)
    if unclosed_quote_at is None:
        return tokens
    # An unbalanced quote is a typo, not a phrase running to the end: ignore that one quote.
    # No quote follows it (one would have closed it), so the second scan is balanced.
    tokens, _ = _scan(text[:unclosed_quote_at] + text[unclosed_quote_at + 1 :])
    return tokens


class _TokenBuilder:
    def __init__(self, *, quoted: bool = False) -> None:
        self.quoted = quoted
        self.parts: list[str] = []
        self.plain: list[str] = []
        self.references = 0
        self.channel: ChannelRef | None = None

    @property
    def empty(self) -> bool:
        return not self.parts and not self.plain

    def add_char(self, char: str) -> None:
        self.plain.append(char)

    def add_reference(self, content: str) -> None:
        self._flush_plain()
        text, channel = _decode_reference(content)
        self.parts.append(text)
        self.references += 1
        self.channel = channel

    def build(self) -> _Token | None:
        has_plain_text = bool(self.plain)
        self._flush_plain()
        text = " ".join("".join(self.parts).split())
        if not text:
            return None
        plain_word = not self.quoted and self.references == 0
        whole_reference = not self.quoted and self.references == 1 and not has_plain_text
        return _Token(
            text=text,
            keyword=text.casefold() if plain_word else None,
            channel=self.channel if whole_reference else None,
        )

    def _flush_plain(self) -> None:
        if self.plain:
            self.parts.append(_unescape("".join(self.plain)))
            self.plain = []


def _scan(text: str) -> tuple[list[_Token], int | None]:
    """Splits on whitespace, keeping quoted phrases together and decoding Slack's `<…>`
    references. Returns the tokens and where an unclosed quote opened, if one did."""
    tokens: list[_Token] = []
    current = _TokenBuilder()
    quote_opened_at: int | None = None

    def finish_token(*, quoted: bool = False) -> _TokenBuilder:
        token = current.build()
        if token is not None:
            tokens.append(token)
        return _TokenBuilder(quoted=quoted)

    index = 0
    while index < len(text):
        char = text[index]
        if char == "<":
            reference = _SLACK_REFERENCE_RE.match(text, index)
            if reference is not None:
                current.add_reference(reference.group(1))
                index = reference.end()
                continue
        if quote_opened_at is not None:
            if char in _QUOTES:
                current = finish_token()
                quote_opened_at = None
            else:
                current.add_char(char)
        elif char.isspace():
            current = finish_token()
        elif char in _QUOTES and current.empty:
            current = finish_token(quoted=True)
            quote_opened_at = index
        else:
            current.add_char(char)
        index += 1
    finish_token()
    return tokens, quote_opened_at


def _decode_reference(content: str) -> tuple[str, ChannelRef | None]:
    """The text a `<…>` reference stands for, and the channel when it is one."""
    target, _, raw_label = content.partition("|")
    label = _unescape(raw_label).strip()
    if target.startswith("#"):
        channel_id = target[1:]
        text = f"#{label or channel_id}"
        if is_channel_id(channel_id):
            return text, ChannelRef(id=channel_id, name=label or None)
        return text, None
    if target.startswith("@"):
        return (f"@{label.removeprefix('@')}" if label else target), None
    if target.startswith("!"):
        # `<!here>`, `<!subteam^S123|@team>`, `<!date^…|fallback>`.
        return (label or f"@{target[1:].split('^')[0]}"), None
    if label:
        return label, None
    return _unescape(target).removeprefix("mailto:"), None


# Characters that keep a word out of a search hint: quotes (the grammar reads them as phrase
# marks and the PMP client drops them), backticks (they end the hint's code span), and `/` or
# `?` (some web servers refuse them in PMP's search path).
_HINT_UNSAFE = frozenset('"“”„‟`/?')
_HINT_TERM_ENOUGH_CHARS = 12
_SLACK_ESCAPING = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def search_hint(
    kind: PmpRecordKind, name: str, *, max_chars: int = MAX_HINT_TERM_CHARS
) -> str | None:
    """A `/pmp <kind> <words>` command that finds the record named `name` when pasted as it
    is: the words are an uncut piece of the name (PMP searches for them as one piece, like
    SQL's `LIKE '%words%'`) that the grammar reads back as a search for exactly them. None
    when no piece of the name works (it is all quotes, say)."""
    terms = _hint_terms(name, max_chars)
    # The earliest piece reads most like the name; a longer one finds fewer other records.
    # `search` keeps a piece like `42` or `New Horizons` from reading as a number or a verb.
    enough = min(max((len(term) for term in terms), default=0), _HINT_TERM_ENOUGH_CHARS)
    for term in sorted(terms, key=lambda term: len(term) < enough):
        for command in (f"{kind} {term}", f"{kind} search {term}"):
            parsed = parse(command.translate(_SLACK_ESCAPING))
            if parsed.action is CommandAction.SEARCH and parsed.query == term:
                return f"{SLASH_COMMAND} {command}"
    return None


def _hint_terms(name: str, max_chars: int) -> list[str]:
    """Pieces of `name` to try: from each word, as many following words as fit in
    `max_chars`. Only words joined by one plain space are joined (the grammar would
    turn two spaces into one, and PMP would then find nothing)."""
    runs: list[list[str]] = [[]]
    for piece in re.split(r"( )", name.strip()):
        if piece == " ":
            continue
        words = piece.split()
        if len(words) != 1 or not words[0] or any(char in _HINT_UNSAFE for char in piece):
            runs.append([])  # a break: other whitespace, or a word the hint can't use
            continue
        runs[-1].append(piece)
    terms: list[str] = []
    for run in runs:
        for start, first in enumerate(run):
            if first.startswith("#"):
                continue  # PMP reads `#word` as a tag search
            term = first[:max_chars]
            for word in run[start + 1 :]:
                if len(term) + 1 + len(word) > max_chars:
                    break
                term = f"{term} {word}"
            terms.append(term)
    return terms
