"""The cache: local memory by default, Redis through ``REDIS_URL`` or ``CACHE_URL``.

Redis is a cache here, not a store: when it is down or slow, django-redis swallows the error
(``IGNORE_EXCEPTIONS``; logged) and every read is a miss, so requests are answered from the
database instead of failing. Short socket timeouts keep a hung Redis from holding requests.
Throttles and the login lockout count in the cache too, so they fail open during an outage
(see docs/adr/0007-read-replica-and-degraded-cache.md).
"""

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
CACHE_SOCKET_TIMEOUT = env.float("CACHE_SOCKET_TIMEOUT", default=0.5, positive=True)
if CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache":
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": CACHE_SOCKET_TIMEOUT,
            "SOCKET_TIMEOUT": CACHE_SOCKET_TIMEOUT,
        }
    )
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
