#!/usr/bin/env python
"""Django's command-line entry point.

A missing setting (``ImproperlyConfigured``, e.g. ``SECRET_KEY`` when ``DEBUG`` is off) ends
the command with one line naming it and exit status 2, not a traceback.
"""

import os
import sys

from django.core.exceptions import ImproperlyConfigured


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engagement.settings")
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as error:
        sys.stderr.write(f"error: {error}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
