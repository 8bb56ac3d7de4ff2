"""Fixtures of the nudges tests: the local OpenAI-compatible server the real SDK talks to.

``fake_llm`` configures the LLM client (``OPENAI_BASE_URL``, a key, short back-off) at a server
started once per session and reset for each test; change its answers with
``fake_llm.configure(mode=..., script=[...], subject=..., body=...)`` (modes:
``nudges.llm.fake_server.MODES``) and read what it was asked in ``fake_llm.requests``.
"""

from collections.abc import Iterator
from typing import Any

import pytest

from nudges.llm.fake_server import FakeLLMServer


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeLLMServer]:
    server = FakeLLMServer().start()
    yield server
    server.stop()


@pytest.fixture
def fake_llm(fake_llm_server: FakeLLMServer, settings: Any) -> FakeLLMServer:
    """The LLM configured at the local server, answering normally; retries back off briefly
    and an attempt times out after 2 s, so mode ``slow`` (3 s) is a timeout."""
    fake_llm_server.reset()
    settings.OPENAI_API_KEY = "local-test-key"
    settings.OPENAI_BASE_URL = fake_llm_server.base_url
    settings.OPENAI_TIMEOUT = 2.0
    settings.LLM_RETRY_BASE_SECONDS = 0.01
    return fake_llm_server


@pytest.fixture
def no_llm(settings: Any) -> None:
    """No key configured: generation takes the template path."""
    settings.OPENAI_API_KEY = ""
