"""The Slack side of pmp-bot: the Bolt app factory, its middleware and the web server."""
