"""Ways of running pmp-bot: `serve` (HTTP), `socket` (Socket Mode) and `shell` (console)."""
