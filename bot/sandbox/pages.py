"""HTML pages a PMP server sends instead of JSON (CodeIgniter error views, web-server 500)."""

from __future__ import annotations

from html import escape

from bot.sandbox.phpish import PhpWarning

_CI_STYLE = """<style type="text/css">
::selection { background-color: #E13300; color: white; }
body { background-color: #fff; margin: 40px; font: 13px/20px normal Helvetica, Arial, sans-serif;
  color: #4F5155; }
h1 { color: #444; background-color: transparent; border-bottom: 1px solid #D0D0D0;
  font-size: 19px; font-weight: normal; margin: 0 0 14px 0; padding: 14px 15px 10px 15px; }
#container { margin: 10px; border: 1px solid #D0D0D0; box-shadow: 0 0 8px #D0D0D0; }
p { margin: 12px 15px 12px 15px; }
</style>"""


def _ci_page(title: str, heading: str, paragraphs: list[str]) -> str:
    body = "\n".join(f"\t\t<p>{paragraph}</p>" for paragraph in paragraphs)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n{_CI_STYLE}\n</head>\n<body>\n"
        f'\t<div id="container">\n\t\t<h1>{heading}</h1>\n{body}\n\t</div>\n</body>\n</html>'
    )


def page_not_found() -> str:
    """CodeIgniter's 404 page: unknown controllers and paths."""
    return _ci_page(
        "404 Page Not Found", "404 Page Not Found", ["The page you requested was not found."]
    )


def disallowed_characters() -> str:
    """CodeIgniter's 400 page for URI characters outside the permitted set."""
    return _ci_page(
        "Error",
        "An Error Was Encountered",
        ["The URI you submitted has disallowed characters."],
    )


def database_error(number: int, message: str, query: str, filename: str, line: int) -> str:
    """CodeIgniter's database error page (sent with HTTP 500)."""
    return _ci_page(
        "Database Error",
        "A Database Error Occurred",
        [
            f"Error Number: {number}",
            escape(message),
            escape(query),
            f"Filename: {escape(filename)}",
            f"Line Number: {line}",
        ],
    )


def uncaught_exception(kind: str, message: str, filename: str, line: int) -> str:
    """CodeIgniter's page for an uncaught PHP error (sent with HTTP 500)."""
    return _ci_page(
        "Error",
        "An uncaught Exception was encountered",
        [
            f"Type: {escape(kind)}",
            f"Message: {escape(message)}",
            f"Filename: {escape(filename)}",
            f"Line Number: {line}",
        ],
    )


def php_error(warning: PhpWarning) -> str:
    """CodeIgniter's view for a PHP warning or notice, printed where it happens (development
    mode only)."""
    return (
        '<div style="border:1px solid #990000;padding-left:20px;margin:0 0 10px 0;">\n'
        "<h4>A PHP Error was encountered</h4>\n"
        f"<p>Severity: {escape(warning.severity, quote=False)}</p>\n"
        f"<p>Message:  {escape(warning.message, quote=False)}</p>\n"
        f"<p>Filename: {escape(warning.filename, quote=False)}</p>\n"
        f"<p>Line Number: {warning.line}</p>\n"
        "</div>"
    )


def internal_server_error() -> str:
    """The web server's own 500 page (what a crashed or overloaded PHP backend produces)."""
    return (
        '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
        "<title>500 Internal Server Error</title>\n</head><body>\n"
        "<h1>Internal Server Error</h1>\n"
        "<p>The server encountered an internal error or\nmisconfiguration and was unable to "
        "complete\nyour request.</p>\n"
        "<p>Please contact the server administrator to inform them of the time this error "
        "occurred,\n and the actions you performed just before this error.</p>\n"
        "<p>More information about this error may be available\nin the server error log.</p>\n"
        "</body></html>\n"
    )
