"""Outgoing mail and the site's address used in links it carries."""

from engagement.settings.base import env

SITE_URL = env.http_url("SITE_URL", default="http://127.0.0.1:8000")
vars().update(
    env.url_config(
        "EMAIL_URL",
        parse=env.email_url_config,
        default="consolemail://",
        example="smtp+tls://user:password@smtp.example.org:587",
    )
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="engagement@localhost")
