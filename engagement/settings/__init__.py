"""Settings, all read from the environment (an optional ``.env`` file is loaded first).

With nothing set, the platform runs embedded: SQLite (WAL), local-memory cache and eager Celery
tasks. Setting ``DATABASE_URL``, ``REDIS_URL``/``CACHE_URL`` and ``CELERY_BROKER_URL`` switches
to PostgreSQL, Redis and a real broker. The README's configuration table lists every variable.

One module per integration; this package assembles them in the order below (``security`` first, so
that a half-configured production stops before anything else is read).
"""

# isort: off
from engagement.settings.base import *  # noqa: F403
from engagement.settings.security import *  # noqa: F403
from engagement.settings.database import *  # noqa: F403
from engagement.settings.cache import *  # noqa: F403
from engagement.settings.metrics import *  # noqa: F403
from engagement.settings.celery import *  # noqa: F403
from engagement.settings.api import *  # noqa: F403
from engagement.settings.mail import *  # noqa: F403
from engagement.settings.limits import *  # noqa: F403
from engagement.settings.logging import *  # noqa: F403
# isort: on
