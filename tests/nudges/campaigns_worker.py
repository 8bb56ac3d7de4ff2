"""A Celery worker with the campaign stand-ins installed: ``python -m tests.nudges.campaigns_worker``.

The crash test runs campaigns in a real worker process; generation, sending, assignment and
flags are the stand-ins of ``campaigns_fakes`` there too, so what it proves is the campaign
run's own: a redelivered run finds the nudges already written and writes no other.
"""

import os

import django
import pytest


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engagement.settings")
    django.setup()
    from engagement.celery import app
    from tests.nudges.campaigns_fakes import install

    install(pytest.MonkeyPatch())
    app.worker_main(["worker", "--pool=solo", "--without-mingle", "--loglevel=INFO"])


if __name__ == "__main__":
    main()
