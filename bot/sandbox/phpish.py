"""PHP and CodeIgniter input handling that a PMP server applies to what clients send.

Reproduced because clients notice it: PHP's form-array syntax, ``empty()``, CodeIgniter's
``xss_clean`` (which rewrites ``<``, url-decodes values and mangles ``file(...)``), Perfex's
ticket tag stripping, ``nl2br`` and its date parsing in the CRM's ``d/m/Y`` format.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from typing import TypeAlias
from urllib.parse import parse_qsl, unquote

PhpValue: TypeAlias = "bool | int | float | str | list[PhpValue] | dict[str, PhpValue] | None"

# The CRM's configured date format; the seed document's examples ("25/07/2019") use it.
CRM_DATE_FORMAT = "d/m/Y"


class PhpFatalError(Exception):
    """An uncaught PHP error on the server: HTTP 500, with CodeIgniter's error page only when
    the server is in development mode (production sends an empty body)."""

    def __init__(self, message: str, filename: str, line: int, *, kind: str = "Error") -> None:
        super().__init__(message)
        self.message = message
        self.filename = filename
        self.line = line
        self.kind = kind


@dataclass(frozen=True)
class PhpWarning:
    message: str
    filename: str  # as CodeIgniter shows it: the last two path segments
    line: int
    severity: str = "Warning"


class PhpOutput:
    """What PHP prints before the controller's answer.

    Only a server in development mode (``display_errors`` on) prints its warnings, as HTML,
    ahead of the JSON; once it has, the status code and content type can no longer change.
    """

    def __init__(self, *, display_errors: bool) -> None:
        self.display_errors = display_errors
        self.printed: list[PhpWarning] = []

    @property
    def started(self) -> bool:
        return bool(self.printed)

    def warning(self, message: str, filename: str, line: int) -> None:
        if self.display_errors:
            self.printed.append(PhpWarning(message, filename, line))

    def undefined_key(self, key: str, filename: str, line: int) -> None:
        """PHP 8's warning for ``$data['key']`` when the array has no such key."""
        self.warning(f'Undefined array key "{key}"', filename, line)


def php_type(value: PhpValue) -> str:
    """The type name PHP 8 uses in its messages (``get_debug_type``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "array"


PASSWORD_HASH_PREFIX = "$2y$08$"


def password_hash_like(seed: str | None = None) -> str:
    """A bcrypt-shaped hash like PHP's ``password_hash()``: ``$2y$08$`` and 53 characters.

    The same ``seed`` gives the same hash (demo data); without one it is random, like a salt.
    """
    digest = hashlib.sha256((seed if seed is not None else uuid.uuid4().hex).encode()).hexdigest()
    return PASSWORD_HASH_PREFIX + (digest + digest)[:53]


# --- request bodies -------------------------------------------------------------------------


def _php_array(container: dict[str, PhpValue], key: str) -> dict[str, PhpValue]:
    existing = container.get(key)
    if isinstance(existing, dict):
        return existing
    fresh: dict[str, PhpValue] = {}
    container[key] = fresh
    return fresh


def _assign_form_field(target: dict[str, PhpValue], raw_name: str, value: str) -> None:
    """Store one form field the way PHP fills $_POST (``a[]``, ``a[k]``, ``a.b`` -> ``a_b``)."""
    match = re.match(r"([^\[]*)((?:\[[^\]]*\])*)", raw_name)
    if match is None or not match.group(1):
        return
    base = match.group(1).replace(".", "_").replace(" ", "_")
    subscripts = re.findall(r"\[([^\]]*)\]", match.group(2))
    if not subscripts:
        target[base] = value
        return
    container = _php_array(target, base)
    for position, subscript in enumerate(subscripts):
        key = subscript or str(_next_php_index(container))
        if position == len(subscripts) - 1:
            container[key] = value
        else:
            container = _php_array(container, key)


def _next_php_index(array: dict[str, PhpValue]) -> int:
    numeric = [int(key) for key in array if re.fullmatch(r"-?[0-9]+", key)]
    return max(numeric) + 1 if numeric else 0


def _lists_where_sequential(value: PhpValue) -> PhpValue:
    """PHP arrays keyed 0..n-1 become lists; other arrays stay dicts."""
    if not isinstance(value, dict):
        return value
    converted = {key: _lists_where_sequential(item) for key, item in value.items()}
    if converted and list(converted) == [str(index) for index in range(len(converted))]:
        return list(converted.values())
    return converted


def _finish_form(fields: dict[str, PhpValue]) -> dict[str, PhpValue]:
    return {name: _lists_where_sequential(value) for name, value in fields.items()}


def parse_urlencoded(body: bytes) -> dict[str, PhpValue]:
    """$_POST for an ``application/x-www-form-urlencoded`` body."""
    fields: dict[str, PhpValue] = {}
    text = body.decode("utf-8", errors="replace")
    for name, value in parse_qsl(text, keep_blank_values=True):
        _assign_form_field(fields, name, value)
    return _finish_form(fields)


def _multipart_parts(body: bytes, content_type: str) -> list[EmailMessage]:
    header = b"Content-Type: " + content_type.encode("latin-1", errors="replace") + b"\r\n\r\n"
    message = BytesParser(policy=HTTP).parsebytes(header + body)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        return []
    return [part for part in message.iter_parts() if isinstance(part, EmailMessage)]


def multipart_file_fields(body: bytes, content_type: str) -> frozenset[str]:
    """The keys of $_FILES for a ``multipart/form-data`` body (``file[]`` counts as ``file``)."""
    names: set[str] = set()
    for part in _multipart_parts(body, content_type):
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str) and part.get_filename() is not None:
            names.add(name.split("[")[0])
    return frozenset(names)


def parse_multipart(body: bytes, content_type: str) -> dict[str, PhpValue]:
    """$_POST for a ``multipart/form-data`` body; file parts go to $_FILES, so are left out."""
    fields: dict[str, PhpValue] = {}
    for part in _multipart_parts(body, content_type):
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or part.get_filename() is not None:
            continue
        payload = part.get_payload(decode=True)
        raw = payload if isinstance(payload, bytes) else b""
        charset = part.get_content_charset() or "utf-8"
        _assign_form_field(fields, name, raw.decode(charset, errors="replace"))
    return _finish_form(fields)


# --- PHP value semantics --------------------------------------------------------------------


def is_empty(value: PhpValue) -> bool:
    """PHP ``empty()``: null, false, 0, 0.0, "", "0" and empty arrays are empty."""
    if value is None or value is False:
        return True
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value == 0
    if isinstance(value, str):
        return value in ("", "0")
    if isinstance(value, list | dict):
        return len(value) == 0
    return False


def php_string(value: PhpValue) -> str | None:
    """What PHP makes of a decoded value when it is used as a string (None stays NULL)."""
    if value is None:
        return None
    if value is True:
        return "1"
    if value is False:
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, str):
        return value
    return "Array"


_PHP_INT_KEY = re.compile(r"-?(?:0|[1-9][0-9]{0,18})")


def php_serialize_flags(flags: dict[str, int]) -> str:
    """PHP ``serialize()`` of an array of names => ints (integer-like names become int keys)."""
    parts: list[str] = []
    for name, value in flags.items():
        if _PHP_INT_KEY.fullmatch(name) and -(2**63) <= int(name) < 2**63:
            parts.append(f"i:{name};")
        else:
            parts.append(f's:{len(name.encode())}:"{name}";')
        parts.append(f"i:{value};")
    return f"a:{len(flags)}:{{{''.join(parts)}}}"


def module_value(value: PhpValue) -> PhpValue:
    """The REST module's ``Api_model::value()``: any falsy value (including "0") becomes ""."""
    return value if not is_empty(value) else ""


# --- CodeIgniter's xss_clean (the parts that change ordinary text) ----------------------------

_URL_ENCODED_INVISIBLE = re.compile(r"%0[0-8bcef]|%1[0-9a-f]", re.IGNORECASE)
_RAW_INVISIBLE = re.compile(r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]+")
_ENCODED_WITH_SPACES = re.compile(r"%(?:\s*[0-9a-f]){2,}", re.IGNORECASE)
_NEVER_ALLOWED_STRINGS = (
    ("document.cookie", "[removed]"),
    ("(document).cookie", "[removed]"),
    ("document.write", "[removed]"),
    ("(document).write", "[removed]"),
    (".parentNode", "[removed]"),
    (".innerHTML", "[removed]"),
    ("-moz-binding", "[removed]"),
    ("<!--", "&lt;!--"),
    ("-->", "--&gt;"),
    ("<![CDATA[", "&lt;![CDATA["),
    ("<comment>", "&lt;comment&gt;"),
    ("<%", "&lt;&#37;"),
)
_NEVER_ALLOWED_PATTERNS = tuple(
    re.compile(pattern, re.IGNORECASE | re.DOTALL)
    for pattern in (
        r"javascript\s*:",
        r"(\(?document\)?|\(?window\)?(\.document)?)\.(location|on\w*)",
        r"expression\s*(\(|&\#40;)",
        r"vbscript\s*:",
        r"wscript\s*:",
        r"jscript\s*:",
        r"vbs\s*:",
        r"Redirect\s+30\d",
        r"([\"'])?data\s*:[^\1]*?base64[^\1]*?,[^\1]*?\1?",
    )
)
_NAUGHTY_HTML = re.compile(
    r"<((?P<slash>/*\s*)((?P<tagName>[a-z0-9]+)(?=[^a-z0-9]|$)|.+)"
    r"[^\s\"'a-z0-9>/=]*"
    r"(?P<attributes>(?:[\s\"'/=]*[^\s\"'>/=]+"
    r"(?:\s*=(?:[^\s\"'=><`]+|\s*\"[^\"]*\"|\s*'[^']*'|\s*(?<!\\)`[^`]*`))?)*)"
    r"[^>]*)(?P<closeTag>>)?",
    re.IGNORECASE | re.DOTALL,
)
_ATTRIBUTE = re.compile(
    r"(?P<name>[^\s\"'>/=]+)"
    r"(?:\s*=(?P<value>[^\s\"'=><`]+|\s*\"[^\"]*\"|\s*'[^']*'|\s*(?<!\\)`[^`]*`))",
    re.IGNORECASE,
)
_EVIL_ATTRIBUTE = re.compile(
    r"^(on\w+|style|xmlns|formaction|form|xlink:href|FSCommand|seekSegmentTime)$", re.IGNORECASE
)
_NAUGHTY_TAGS = frozenset(
    (
        "alert",
        "area",
        "prompt",
        "confirm",
        "applet",
        "audio",
        "basefont",
        "base",
        "behavior",
        "bgsound",
        "blink",
        "body",
        "embed",
        "expression",
        "form",
        "frameset",
        "frame",
        "head",
        "html",
        "ilayer",
        "iframe",
        "input",
        "button",
        "select",
        "isindex",
        "layer",
        "link",
        "meta",
        "keygen",
        "object",
        "plaintext",
        "style",
        "script",
        "textarea",
        "title",
        "math",
        "video",
        "svg",
        "xml",
        "xss",
    )
)
_NAUGHTY_CALLS = "alert|prompt|confirm|cmd|passthru|eval|exec|expression|system|fopen|fsockopen|file|file_get_contents|readfile|unlink"  # noqa: E501
_NAUGHTY_CALL_PARENS = re.compile(rf"({_NAUGHTY_CALLS})(\s*)\((.*?)\)", re.IGNORECASE | re.DOTALL)
_NAUGHTY_CALL_TICKS = re.compile(rf"({_NAUGHTY_CALLS})(\s*)`(.*?)`", re.IGNORECASE | re.DOTALL)


def _remove_invisible(text: str) -> str:
    while True:
        cleaned = _RAW_INVISIBLE.sub("", _URL_ENCODED_INVISIBLE.sub("", text))
        if cleaned == text:
            return cleaned
        text = cleaned


def _never_allowed(text: str) -> str:
    for needle, replacement in _NEVER_ALLOWED_STRINGS:
        text = text.replace(needle, replacement)
    for pattern in _NEVER_ALLOWED_PATTERNS:
        text = pattern.sub("[removed]", text)
    return text


def _decode_spaced_escape(match: re.Match[str]) -> str:
    found = match.group(0)
    compact = re.sub(r"\s+", "", found)
    return found if compact == found else unquote(compact, errors="replace")


def _filtered_attributes(attributes: str) -> str:
    kept: list[str] = []
    while attributes:
        attributes = re.sub(r"^[^a-z]+", "", attributes, flags=re.IGNORECASE)
        found = _ATTRIBUTE.search(attributes)
        if found is None:
            break
        evil = _EVIL_ATTRIBUTE.match(found.group("name")) is not None
        kept.append("xss=removed" if evil or not found.group("value").strip() else found.group(0))
        attributes = attributes[found.end() :]
    return " " + " ".join(kept) if kept else ""


def _sanitize_naughty_html(match: re.Match[str]) -> str:
    inner = match.group(1)
    if not match.group("closeTag"):
        return "&lt;" + inner
    tag_name = match.group("tagName")
    if tag_name and tag_name.lower() in _NAUGHTY_TAGS:
        return "&lt;" + inner + "&gt;"
    if match.group("attributes") is not None:
        attributes = _filtered_attributes(match.group("attributes"))
        return "<" + (match.group("slash") or "") + (tag_name or "") + attributes + ">"
    return match.group(0)


def xss_clean(text: str) -> str:
    """CodeIgniter 3's ``xss_clean`` as far as it alters text a CRM user might type."""
    text = _remove_invisible(text)
    while True:
        previous = text
        text = unquote(text, errors="replace")
        text = _ENCODED_WITH_SPACES.sub(_decode_spaced_escape, text)
        if text == previous:
            break
    text = _remove_invisible(text)
    text = text.replace("\t", " ")
    text = _never_allowed(text)
    text = text.replace("<?", "&lt;?").replace("?>", "?&gt;")
    while True:
        previous = text
        text = _NAUGHTY_HTML.sub(_sanitize_naughty_html, text)
        if text == previous:
            break
    text = _NAUGHTY_CALL_PARENS.sub(r"\1\2&#40;\3&#41;", text)
    text = _NAUGHTY_CALL_TICKS.sub(r"\1\2&#96;\3&#96;", text)
    return _never_allowed(text)


def xss_clean_value(value: PhpValue) -> PhpValue:
    """``$this->input->post($name, TRUE)``: xss_clean every string inside the value."""
    if isinstance(value, str):
        return xss_clean(value)
    if isinstance(value, list):
        return [xss_clean_value(item) for item in value]
    if isinstance(value, dict):
        return {key: xss_clean_value(item) for key, item in value.items()}
    return value


# --- Perfex text helpers ----------------------------------------------------------------------

# Tags Perfex's _strip_tags() keeps in ticket subjects and messages.
_TICKET_ALLOWED_TAGS = frozenset(
    (
        "br",
        "em",
        "p",
        "ul",
        "ol",
        "li",
        "h4",
        "h3",
        "h2",
        "h1",
        "pre",
        "code",
        "a",
        "img",
        "strong",
        "b",
        "blockquote",
        "table",
        "thead",
        "th",
        "tr",
        "td",
        "tbody",
        "tfoot",
    )
)
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_TAG = re.compile(r"<(?!\s)(/?)([a-zA-Z0-9]*)[^>]*(?:>|$)", re.DOTALL)


def strip_ticket_tags(text: str) -> str:
    """PHP ``strip_tags`` with the tags Perfex allows in tickets."""
    text = _HTML_COMMENT.sub("", text)

    def keep_allowed(match: re.Match[str]) -> str:
        return match.group(0) if match.group(2).lower() in _TICKET_ALLOWED_TAGS else ""

    return _TAG.sub(keep_allowed, text)


def nl2br(text: str) -> str:
    return re.sub(r"(\r\n|\n\r|\n|\r)", r"<br />\1", text)


def nl2br_save_html(text: str) -> str:
    """Perfex's nl2br for ticket messages: lines ending in a tag get no extra ``<br />``."""
    if not re.search(r"</.*>", text):
        return nl2br(text)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    output = ""
    for line in lines:
        line = line.rstrip()
        if not re.search(r"</?[^/<>]*>$", line):
            line += "<br />"
        output += line + "\n"
    return output


_EMOJI = re.compile(
    "[\U0001f600-\U0001f64f\U0001f300-\U0001f5ff\U0001f680-\U0001f6ff\U0001f1e0-\U0001f1ff"
    "\U0001f900-\U0001f9ff\U0001fa70-\U0001faff\u2600-\u26ff\u2700-\u27bf]"
)


def remove_emojis(text: str) -> str:
    return _EMOJI.sub("", text)


# --- dates ------------------------------------------------------------------------------------

_SQL_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_SQL_DATETIME = re.compile(r"\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{1,2}:\d{1,2}")
_CRM_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{1,4})")
_CRM_DATETIME = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{1,4}) (\d{1,2}):(\d{1,2}):(\d{1,2})")
_DATE_HELPER = "application/helpers/datetime_helper.php"


def _rolled_date(day: int, month: int, year: int) -> dt.date:
    # PHP's createFromFormat accepts out-of-range days and months and rolls them over.
    months = year * 12 + (month - 1)
    first = dt.date(months // 12, months % 12 + 1, 1)
    return first + dt.timedelta(days=day - 1)


def to_sql_date(value: str | None, *, with_time: bool = False) -> str | None:
    """Perfex's ``to_sql_date``: Y-m-d passes through, otherwise the CRM format is parsed.

    A value in neither format is a PHP fatal error on the server (PhpFatalError).
    """
    if value is None or value == "":
        return None
    fatal = PhpFatalError("Call to a member function format() on bool", _DATE_HELPER, 158)
    if not with_time:
        if _SQL_DATE.fullmatch(value):
            return value
        crm = _CRM_DATE.fullmatch(value)
        if crm is None:
            raise fatal
        day, month, year = (int(part) for part in crm.groups())
        try:
            return _rolled_date(day, month, year).isoformat()
        except (ValueError, OverflowError):
            raise fatal from None
    if " " not in value:
        value += " 00:00:00"
    elif re.fullmatch(r".* \d{1,2}:\d{1,2}", value):
        value += ":00"
    if _SQL_DATETIME.fullmatch(value):
        return value
    crm_time = _CRM_DATETIME.fullmatch(value)
    if crm_time is None:
        raise fatal
    day, month, year, hour, minute, second = (int(part) for part in crm_time.groups())
    try:
        date = _rolled_date(day, month, year)
    except (ValueError, OverflowError):
        raise fatal from None
    moment = dt.datetime(date.year, date.month, date.day) + dt.timedelta(
        hours=hour, minutes=minute, seconds=second
    )
    return moment.strftime("%Y-%m-%d %H:%M:%S")
