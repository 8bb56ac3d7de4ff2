import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_is_clean_under_production_settings() -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "DEBUG"))},
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "engage.example.org",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_responses_carry_a_strict_content_security_policy(client: Client) -> None:
    response = client.get("/api/docs/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert (
        "script-src 'self'" in policy
        and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_cors_is_closed_unless_configured(client: Client, settings: Any) -> None:
    preflight = {"HTTP_ORIGIN": "https://evil.example", "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "GET"}
    assert "Access-Control-Allow-Origin" not in client.options("/api/v1/learners/", **preflight)
    settings.CORS_ALLOWED_ORIGINS = ["https://dashboard.example.org"]
    allowed = client.options(
        "/api/v1/learners/",
        HTTP_ORIGIN="https://dashboard.example.org",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
    )
    assert allowed["Access-Control-Allow-Origin"] == "https://dashboard.example.org"


@pytest.mark.parametrize(("path", "status"), [("/healthz", 200), ("/accounts/login/", 301)])
def test_only_probes_and_scrapes_answer_plain_http(path: str, status: int) -> None:
    # A fresh client loads its middleware under the production redirect.
    with override_settings(SECURE_SSL_REDIRECT=True):
        assert Client().get(path).status_code == status
