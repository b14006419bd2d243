"""pmp-bot: a Slack app for PMP, the Perfex-CRM-based project platform."""

__version__ = "0.1.0"
