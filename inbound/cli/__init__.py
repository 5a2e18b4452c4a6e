"""Subcommands of ``python manage.py jemh`` that belong to inbound mail."""
