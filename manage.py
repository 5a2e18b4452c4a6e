#!/usr/bin/env python
"""Django's command-line utility."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jemh.settings")
    from django.core.exceptions import ImproperlyConfigured

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:
        from jemh.startup import explain

        paragraph = explain(exc)
        if paragraph is None:
            raise
        print(paragraph, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
