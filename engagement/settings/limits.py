"""Platform limits (each app registers its own tunables from its ``AppConfig.ready()``)."""

from engagement.settings.base import env

DATA_UPLOAD_MAX_MEMORY_SIZE = env.int(
    "DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024, minimum=1
)
# Longest /readyz waits for its checks (database, cache, broker) before naming a hung one.
READINESS_TIMEOUT = env.float("READINESS_TIMEOUT", default=2.0, positive=True)
