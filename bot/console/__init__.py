"""Run pmp-bot without a Slack workspace: a local Slack stand-in, a Block Kit text renderer
and a console shell that plays the Slack client against the real app."""
