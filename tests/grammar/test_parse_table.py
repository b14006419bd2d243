"""Table of `/pmp` texts (as Slack sends them, escaped) and the command each must parse to."""

from __future__ import annotations

import pytest

from bot.grammar import ChannelRef, Command, CommandAction, RecordKind, parse

A = CommandAction
K = RecordKind


def _needs_id(kind: str, verb: str) -> str:
    return f"`/pmp {kind} {verb}` needs a {kind} number, like `/pmp {kind} {verb} 12`."


def _not_an_id(text: str, kind: str) -> str:
    return (
        f"`{text}` isn't a {kind} number: PMP numbers start at 1, like `/pmp {kind} 42`. "
        f"To search for the text, use `/pmp {kind} search {text}`."
    )


NOTIFY_PROBLEM = (
    "`/pmp notify` takes one channel, like `/pmp notify #sales`, or `/pmp notify off` to stop."
)
WHICH_KIND = (
    "Tell me which kind of record: customer, lead, project, milestone or ticket, like `/pmp {}`."
)

ROWS: list[tuple[str, Command]] = [
    # Help
    ("", Command(A.HELP)),
    ("   ", Command(A.HELP)),
    ("help", Command(A.HELP)),
    ("HELP", Command(A.HELP)),
    ("h", Command(A.HELP)),
    ("?", Command(A.HELP)),
    ("help customer", Command(A.HELP, kind=K.CUSTOMER, topic="customer")),
    ("help clients", Command(A.HELP, kind=K.CUSTOMER, topic="customer")),
    ("help T", Command(A.HELP, kind=K.TICKET, topic="ticket")),
    ("help notify", Command(A.HELP, topic="notify")),
    ("help notifications", Command(A.HELP, topic="notify")),
    ("help connect", Command(A.HELP, topic="workspace")),
    ("help status", Command(A.HELP, topic="workspace")),
    ("help settings", Command(A.HELP, topic="workspace")),
    ("help help", Command(A.HELP, topic="help")),
    ("help edit", Command(A.HELP)),
    ("help notfy", Command(A.HELP, unknown_word="notfy", suggestion="help notify")),
    ("help zzz", Command(A.HELP, unknown_word="zzz")),
    # A kind alone shows that kind's help
    ("customer", Command(A.HELP, kind=K.CUSTOMER, topic="customer")),
    ("Leads", Command(A.HELP, kind=K.LEAD, topic="lead")),
    ("p", Command(A.HELP, kind=K.PROJECT, topic="project")),
    ("ms", Command(A.HELP, kind=K.MILESTONE, topic="milestone")),
    ('customer ""', Command(A.HELP, kind=K.CUSTOMER, topic="customer")),
    # Show by number
    ("customer 42", Command(A.SHOW, kind=K.CUSTOMER, record_id=42)),
    ("c #42", Command(A.SHOW, kind=K.CUSTOMER, record_id=42)),
    ("client 7", Command(A.SHOW, kind=K.CUSTOMER, record_id=7)),
    ("cust 007", Command(A.SHOW, kind=K.CUSTOMER, record_id=7)),
    ("lead 3", Command(A.SHOW, kind=K.LEAD, record_id=3)),
    ("l 3", Command(A.SHOW, kind=K.LEAD, record_id=3)),
    ("proj 12", Command(A.SHOW, kind=K.PROJECT, record_id=12)),
    ("milestones 5", Command(A.SHOW, kind=K.MILESTONE, record_id=5)),
    ("m 5", Command(A.SHOW, kind=K.MILESTONE, record_id=5)),
    ("TICKET   99", Command(A.SHOW, kind=K.TICKET, record_id=99)),
    ("t #2147483647", Command(A.SHOW, kind=K.TICKET, record_id=2147483647)),
    ("ticket show 8", Command(A.SHOW, kind=K.TICKET, record_id=8)),
    ("ticket view #8", Command(A.SHOW, kind=K.TICKET, record_id=8)),
    ("ticket 8 show", Command(A.SHOW, kind=K.TICKET, record_id=8)),
    ("show ticket 8", Command(A.SHOW, kind=K.TICKET, record_id=8)),
    ("ticket show", Command(A.SHOW, kind=K.TICKET, problem=_needs_id("ticket", "show"))),
    # Numbers no record has are refused, not searched for
    ("ticket 0", Command(A.SHOW, kind=K.TICKET, problem=_not_an_id("0", "ticket"))),
    ("ticket #0", Command(A.SHOW, kind=K.TICKET, problem=_not_an_id("#0", "ticket"))),
    ("ticket 000", Command(A.SHOW, kind=K.TICKET, problem=_not_an_id("000", "ticket"))),
    ("ticket -4", Command(A.SHOW, kind=K.TICKET, problem=_not_an_id("-4", "ticket"))),
    ("lead 0 edit", Command(A.EDIT, kind=K.LEAD, problem=_not_an_id("0", "lead"))),
    ("lead delete -1", Command(A.DELETE, kind=K.LEAD, problem=_not_an_id("-1", "lead"))),
    ("ticket search 0", Command(A.SEARCH, kind=K.TICKET, query="0")),
    ("ticket 0 printer", Command(A.SEARCH, kind=K.TICKET, query="0 printer")),
    # Other numbers that are not ids are searched for (a phone number, say)
    ("ticket 2147483648", Command(A.SEARCH, kind=K.TICKET, query="2147483648")),
    ("ticket 4.5", Command(A.SEARCH, kind=K.TICKET, query="4.5")),
    ('customer "42"', Command(A.SEARCH, kind=K.CUSTOMER, query="42")),
    ("customer 42 acme", Command(A.SEARCH, kind=K.CUSTOMER, query="42 acme")),
    ("customer ٤٢", Command(A.SEARCH, kind=K.CUSTOMER, query="٤٢")),
    # Search
    ("customer acme", Command(A.SEARCH, kind=K.CUSTOMER, query="acme")),
    ("customers Acme Corp", Command(A.SEARCH, kind=K.CUSTOMER, query="Acme Corp")),
    ("  c    acme    corp  ", Command(A.SEARCH, kind=K.CUSTOMER, query="acme corp")),
    ('customer "acme corp"', Command(A.SEARCH, kind=K.CUSTOMER, query="acme corp")),
    ('customer "acme   corp" ltd', Command(A.SEARCH, kind=K.CUSTOMER, query="acme corp ltd")),
    ('customer "acme corp', Command(A.SEARCH, kind=K.CUSTOMER, query="acme corp")),
    ('customer acme"s', Command(A.SEARCH, kind=K.CUSTOMER, query='acme"s')),
    ("customer “acme corp”", Command(A.SEARCH, kind=K.CUSTOMER, query="acme corp")),
    ("customer O'Brien", Command(A.SEARCH, kind=K.CUSTOMER, query="O'Brien")),
    ('customer "new"', Command(A.SEARCH, kind=K.CUSTOMER, query="new")),
    ("customer search new", Command(A.SEARCH, kind=K.CUSTOMER, query="new")),
    ("customer find acme", Command(A.SEARCH, kind=K.CUSTOMER, query="acme")),
    ("search customer acme", Command(A.SEARCH, kind=K.CUSTOMER, query="acme")),
    (
        "customer search",
        Command(
            A.SEARCH,
            kind=K.CUSTOMER,
            problem="`/pmp customer search` needs words to look for, "
            "like `/pmp customer search acme`.",
        ),
    ),
    ("lead Müller GmbH", Command(A.SEARCH, kind=K.LEAD, query="Müller GmbH")),
    ("lead 東京", Command(A.SEARCH, kind=K.LEAD, query="東京")),
    ("project Website ✨", Command(A.SEARCH, kind=K.PROJECT, query="Website ✨")),
    ("ticket printer jam", Command(A.SEARCH, kind=K.TICKET, query="printer jam")),
    ("milestone launch", Command(A.SEARCH, kind=K.MILESTONE, query="launch")),
    # Slack's escaping
    ("customer R&amp;D", Command(A.SEARCH, kind=K.CUSTOMER, query="R&D")),
    ("customer a &lt;b&gt; c", Command(A.SEARCH, kind=K.CUSTOMER, query="a <b> c")),
    ("customer &amp;lt;", Command(A.SEARCH, kind=K.CUSTOMER, query="&lt;")),
    ('customer "R&amp;D Labs"', Command(A.SEARCH, kind=K.CUSTOMER, query="R&D Labs")),
    (
        "customer <mailto:ana@acme.com|ana@acme.com>",
        Command(A.SEARCH, kind=K.CUSTOMER, query="ana@acme.com"),
    ),
    ("customer <mailto:ana@acme.com>", Command(A.SEARCH, kind=K.CUSTOMER, query="ana@acme.com")),
    ("customer <http://acme.com|acme.com>", Command(A.SEARCH, kind=K.CUSTOMER, query="acme.com")),
    (
        "customer <https://acme.com/a?b=1&amp;c=2>",
        Command(A.SEARCH, kind=K.CUSTOMER, query="https://acme.com/a?b=1&c=2"),
    ),
    ("customer <http://x.io|Tom &amp; Co>", Command(A.SEARCH, kind=K.CUSTOMER, query="Tom & Co")),
    ("lead <@U0123ABC|ana>", Command(A.SEARCH, kind=K.LEAD, query="@ana")),
    ("lead <@U0123ABC>", Command(A.SEARCH, kind=K.LEAD, query="@U0123ABC")),
    ("ticket <!here>", Command(A.SEARCH, kind=K.TICKET, query="@here")),
    ("ticket <!subteam^S123|@support>", Command(A.SEARCH, kind=K.TICKET, query="@support")),
    ("project <#C0123ABC|launch>", Command(A.SEARCH, kind=K.PROJECT, query="#launch")),
    ("customer a<b", Command(A.SEARCH, kind=K.CUSTOMER, query="a<b")),
    # Invisible and control characters
    ("customer\tacme", Command(A.SEARCH, kind=K.CUSTOMER, query="acme")),
    ("customer\nacme\r\ncorp", Command(A.SEARCH, kind=K.CUSTOMER, query="acme corp")),
    ("cust\u200bomer ac\u200dme", Command(A.SEARCH, kind=K.CUSTOMER, query="acme")),
    ("\ufeffcustomer acme\x00\x07", Command(A.SEARCH, kind=K.CUSTOMER, query="acme")),
    ("customer\u00a0acme", Command(A.SEARCH, kind=K.CUSTOMER, query="acme")),
    ("customer \u202eacme", Command(A.SEARCH, kind=K.CUSTOMER, query="acme")),
    # New
    ("customer new", Command(A.NEW, kind=K.CUSTOMER)),
    ("customer add", Command(A.NEW, kind=K.CUSTOMER)),
    ("lead create", Command(A.NEW, kind=K.LEAD)),
    ("ticket new", Command(A.NEW, kind=K.TICKET)),
    ("ticket NEW Printer is jammed", Command(A.NEW, kind=K.TICKET, query="Printer is jammed")),
    ('t new "VPN &amp; mail down"', Command(A.NEW, kind=K.TICKET, query="VPN & mail down")),
    ("new ticket Printer", Command(A.NEW, kind=K.TICKET, query="Printer")),
    ("new", Command(A.NEW, problem=WHICH_KIND.format("ticket new"))),
    ("search acme", Command(A.SEARCH, problem=WHICH_KIND.format("customer acme"))),
    # Edit and delete
    ("milestone edit 12", Command(A.EDIT, kind=K.MILESTONE, record_id=12)),
    ("ms update #12", Command(A.EDIT, kind=K.MILESTONE, record_id=12)),
    ("ticket 12 edit", Command(A.EDIT, kind=K.TICKET, record_id=12)),
    ("edit lead 4", Command(A.EDIT, kind=K.LEAD, record_id=4)),
    ("milestone edit", Command(A.EDIT, kind=K.MILESTONE, problem=_needs_id("milestone", "edit"))),
    ("project edit soon", Command(A.EDIT, kind=K.PROJECT, problem=_needs_id("project", "edit"))),
    ("project edit 1 2", Command(A.EDIT, kind=K.PROJECT, problem=_needs_id("project", "edit"))),
    ("project edit 0", Command(A.EDIT, kind=K.PROJECT, problem=_not_an_id("0", "project"))),
    ("lead delete 9", Command(A.DELETE, kind=K.LEAD, record_id=9)),
    ("lead del 9", Command(A.DELETE, kind=K.LEAD, record_id=9)),
    ("lead remove #9", Command(A.DELETE, kind=K.LEAD, record_id=9)),
    ("lead 9 delete", Command(A.DELETE, kind=K.LEAD, record_id=9)),
    ("delete", Command(A.DELETE, problem=WHICH_KIND.format("ticket delete 12"))),
    ("lead delete", Command(A.DELETE, kind=K.LEAD, problem=_needs_id("lead", "delete"))),
    ("lead rm 9", Command(A.SEARCH, kind=K.LEAD, query="rm 9")),
    # Workspace commands
    ("connect", Command(A.CONNECT)),
    ("Connect now", Command(A.CONNECT)),
    ("disconnect", Command(A.DISCONNECT)),
    ("status", Command(A.STATUS)),
    ("settings", Command(A.SETTINGS)),
    ("setting", Command(A.SETTINGS)),
    # Notify
    ("notify", Command(A.NOTIFY)),
    ("notify off", Command(A.NOTIFY, notify_off=True)),
    ("NOTIFY Off", Command(A.NOTIFY, notify_off=True)),
    ("notify none", Command(A.NOTIFY, notify_off=True)),
    (
        "notify <#C0123ABCD|sales>",
        Command(A.NOTIFY, channel=ChannelRef(id="C0123ABCD", name="sales")),
    ),
    ("notify <#C0123ABCD>", Command(A.NOTIFY, channel=ChannelRef(id="C0123ABCD", name=None))),
    ("notify <#C0123ABCD|>", Command(A.NOTIFY, channel=ChannelRef(id="C0123ABCD", name=None))),
    ("notify C0123ABCD", Command(A.NOTIFY, channel=ChannelRef(id="C0123ABCD", name=None))),
    ("notify G0123ABCD", Command(A.NOTIFY, channel=ChannelRef(id="G0123ABCD", name=None))),
    ("notify #sales", Command(A.NOTIFY, channel=ChannelRef(id=None, name="sales"))),
    ("notify #Sales-EU_2", Command(A.NOTIFY, channel=ChannelRef(id=None, name="sales-eu_2"))),
    ("notify sales", Command(A.NOTIFY, channel=ChannelRef(id=None, name="sales"))),
    ("notify #off", Command(A.NOTIFY, channel=ChannelRef(id=None, name="off"))),
    ("notifications #sales", Command(A.NOTIFY, channel=ChannelRef(id=None, name="sales"))),
    ("notify <@U0123ABC>", Command(A.NOTIFY, problem=NOTIFY_PROBLEM)),
    ("notify #sales #support", Command(A.NOTIFY, problem=NOTIFY_PROBLEM)),
    ("notify sales team", Command(A.NOTIFY, problem=NOTIFY_PROBLEM)),
    ("notify #sales!", Command(A.NOTIFY, problem=NOTIFY_PROBLEM)),
    # Unknown words, with a did-you-mean
    ("custmer acme", Command(A.UNKNOWN, unknown_word="custmer", suggestion="customer acme")),
    ("tikcet 4", Command(A.UNKNOWN, unknown_word="tikcet", suggestion="ticket 4")),
    (
        'custmer "acme corp" R&amp;D',
        Command(A.UNKNOWN, unknown_word="custmer", suggestion='customer "acme corp" R&D'),
    ),
    ("nw ticket VPN", Command(A.UNKNOWN, unknown_word="nw", suggestion="new ticket VPN")),
    (
        "custmer " + "acme " * 40,
        Command(A.UNKNOWN, unknown_word="custmer", suggestion="customer"),
    ),
    ("Proejcts", Command(A.UNKNOWN, unknown_word="Proejcts", suggestion="project")),
    ("stauts", Command(A.UNKNOWN, unknown_word="stauts", suggestion="status")),
    ("hlep", Command(A.UNKNOWN, unknown_word="hlep", suggestion="help")),
    ("notfiy #sales", Command(A.UNKNOWN, unknown_word="notfiy", suggestion="notify #sales")),
    ("acme", Command(A.UNKNOWN, unknown_word="acme")),
    ("42", Command(A.UNKNOWN, unknown_word="42")),
    ('"customer" acme', Command(A.UNKNOWN, unknown_word="customer", suggestion="customer acme")),
    ("<@U0123ABC> hi", Command(A.UNKNOWN, unknown_word="@U0123ABC")),
    ("x" * 80, Command(A.UNKNOWN, unknown_word="x" * 49 + "…")),
]


@pytest.mark.parametrize(("text", "expected"), ROWS, ids=[repr(text)[:40] for text, _ in ROWS])
def test_parse(text: str, expected: Command) -> None:
    assert parse(text) == expected


def test_table_is_large_and_has_no_duplicate_texts() -> None:
    texts = [text for text, _ in ROWS]
    assert len(texts) >= 80
    assert len(set(texts)) == len(texts)
