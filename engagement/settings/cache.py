"""The cache: local memory by default, Redis through ``REDIS_URL`` or ``CACHE_URL``."""

from engagement.settings.base import env

REDIS_URL = env.str("REDIS_URL", default="")
CACHES = {
    "default": env.url_config(
        "CACHE_URL" if env.str("CACHE_URL", default="") else "REDIS_URL",
        parse=env.cache_url_config,
        default="locmemcache://engagement",
        example="redis://127.0.0.1:6379/0",
    )
}
