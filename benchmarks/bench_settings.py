"""The project's settings plus one URL, for the benchmarks only (``DJANGO_SETTINGS_MODULE=
bench_settings`` with ``benchmarks/`` on ``PYTHONPATH``): production code has no bare view."""

from engagement.settings import *  # noqa: F403

ROOT_URLCONF = "bench_urls"
