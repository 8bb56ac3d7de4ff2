"""The circuit breaker: repeated failures skip the LLM for a cool-down, in every process."""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from nudges.llm.circuit import circuit_failure, circuit_open
from nudges.llm.client import LLMFailure, LLMRequest, llm_complete
from nudges.llm.fake_server import FakeLLMServer
from nudges.models import LLMCall

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _request(user: str = "Days inactive: 9.") -> LLMRequest:
    return LLMRequest(
        prompt_id=None,
        model="gpt-4o-mini",
        system="Write a nudge.",
        user=user,
        temperature=0.4,
        max_tokens=400,
    )


@pytest.fixture
def breaker(fake_llm: FakeLLMServer, settings: Any) -> FakeLLMServer:
    """Two failed calls (no retries) open the circuit for a minute."""
    settings.LLM_MAX_RETRIES = 0
    settings.LLM_CIRCUIT_FAILURES = 2
    settings.LLM_CIRCUIT_COOLDOWN_SECONDS = 60
    return fake_llm


def _fail_twice(server: FakeLLMServer) -> None:
    server.configure(mode="server_error")
    for n in range(2):
        with pytest.raises(LLMFailure):
            llm_complete(_request(f"failure {n}"))


def test_repeated_failures_open_the_circuit_and_skip_the_llm(breaker: FakeLLMServer) -> None:
    _fail_twice(breaker)
    breaker.configure(mode="normal")

    with pytest.raises(LLMFailure) as failure:
        llm_complete(_request())

    assert failure.value.reason == "circuit_open"
    assert len(breaker.requests) == 2, "the LLM was not asked"
    call = failure.value.call
    assert call is not None and (call.outcome, call.attempts) == ("circuit_open", 0)


def test_a_cached_answer_is_served_while_the_circuit_is_open(breaker: FakeLLMServer) -> None:
    llm_complete(_request())
    _fail_twice(breaker)

    assert llm_complete(_request()).call.cache_hit


def test_an_invalid_answer_does_not_count_against_the_circuit(breaker: FakeLLMServer) -> None:
    breaker.configure(mode="malformed")
    for n in range(3):
        with pytest.raises(LLMFailure):
            llm_complete(_request(f"attempt {n}"))

    assert not circuit_open()


def test_a_success_closes_the_count(breaker: FakeLLMServer) -> None:
    breaker.configure(script=["server_error"])
    with pytest.raises(LLMFailure):
        llm_complete(_request("first"))
    llm_complete(_request("second"))
    breaker.configure(script=["server_error"])
    with pytest.raises(LLMFailure):
        llm_complete(_request("third"))

    assert not circuit_open()


def test_after_the_cool_down_one_call_goes_through_and_a_failure_reopens(
    breaker: FakeLLMServer, settings: Any
) -> None:
    settings.LLM_CIRCUIT_COOLDOWN_SECONDS = 1
    _fail_twice(breaker)
    assert circuit_open()
    _wait_closed()

    with pytest.raises(LLMFailure) as failure:
        llm_complete(_request("half-open probe"))

    assert failure.value.reason == "server_error"
    assert circuit_open(), "one more failure is enough"
    _wait_closed()
    breaker.configure(mode="normal")
    assert llm_complete(_request("healthy again")).call.outcome == "ok"
    assert not circuit_open()


def _wait_closed() -> None:
    while circuit_open():
        time.sleep(0.05)


CHILD = textwrap.dedent(
    """
    import django
    django.setup()
    from django.db import connection
    from nudges.models import LLMCall, PromptTemplate
    from nudges.llm.client import LLMFailure, LLMRequest, llm_complete
    from nudges.llm.circuit import circuit_open

    with connection.schema_editor() as editor:
        editor.create_model(PromptTemplate)
        editor.create_model(LLMCall)
    for n in range(2):
        try:
            llm_complete(LLMRequest(None, "gpt-4o-mini", "Write.", f"child {n}", 0.4, 400))
        except LLMFailure as failure:
            print(failure.reason)
    print("open" if circuit_open() else "closed")
    """
)


def test_the_circuit_is_shared_by_processes(
    breaker: FakeLLMServer, settings: Any, tmp_path: Path
) -> None:
    """A child process trips the circuit; this process then skips the LLM.

    Both use the configured cache when it is Redis, else a file cache in a shared directory
    (local memory is per process)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "engagement.settings"),
        "DATABASE_URL": "sqlite://:memory:",
        "OPENAI_API_KEY": "local-test-key",
        "OPENAI_BASE_URL": breaker.base_url,
        "LLM_MAX_RETRIES": "0",
        "LLM_CIRCUIT_FAILURES": "2",
        "LLM_CIRCUIT_COOLDOWN_SECONDS": "60",
    }
    if "redis" not in django_settings.CACHES["default"]["BACKEND"].lower():
        cache_dir = tmp_path / "cache"
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": str(cache_dir),
            }
        }
        env["CACHE_URL"] = f"filecache://{cache_dir}"
    breaker.configure(mode="server_error")

    child = subprocess.run(  # noqa: S603 - this Python, a script of this test
        [sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == ["server_error", "server_error", "open"]
    assert circuit_open()
    breaker.configure(mode="normal")
    with pytest.raises(LLMFailure) as failure:
        llm_complete(_request())
    assert failure.value.reason == "circuit_open"
    assert len(breaker.requests) == 2
    assert LLMCall.objects.get().outcome == "circuit_open"


def test_failures_count_in_the_cache(settings: Any) -> None:
    settings.LLM_CIRCUIT_FAILURES = 3
    circuit_failure()
    circuit_failure()
    assert not circuit_open()
    circuit_failure()
    assert circuit_open()
