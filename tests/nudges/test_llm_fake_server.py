"""The local OpenAI-compatible server: every mode, its control endpoints and its command."""

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx2
import openai
import pytest

from nudges.llm.client import parse_reply
from nudges.llm.fake_server import GUARDRAIL_MODES, FakeLLMServer

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = [{"role": "user", "content": "Write a nudge."}]


def _sdk(server: FakeLLMServer) -> openai.OpenAI:
    return openai.OpenAI(api_key="k", base_url=server.base_url, max_retries=0, timeout=2.0)


@pytest.mark.parametrize("mode", sorted(GUARDRAIL_MODES))
def test_each_guardrail_mode_answers_well_formed_text_that_breaks_it(
    fake_llm_server: FakeLLMServer, mode: str
) -> None:
    fake_llm_server.reset()
    fake_llm_server.configure(mode=mode)

    completion = _sdk(fake_llm_server).chat.completions.create(model="m", messages=MESSAGES)

    assert parse_reply(completion.choices[0].message.content) == tuple(
        text.strip() for text in GUARDRAIL_MODES[mode]
    )


def test_a_script_runs_once_then_the_mode_applies_again(fake_llm_server: FakeLLMServer) -> None:
    fake_llm_server.reset()
    fake_llm_server.configure(script=["server_error", "rate_limited"], retry_after="3")
    client = _sdk(fake_llm_server)

    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="m", messages=MESSAGES)
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model="m", messages=MESSAGES)
    client.chat.completions.create(model="m", messages=MESSAGES)

    assert limited.value.response.headers["Retry-After"] == "3"
    assert [request["mode"] for request in fake_llm_server.requests] == [
        "server_error",
        "rate_limited",
        "normal",
    ]


def test_it_is_controlled_over_http_from_another_process(fake_llm_server: FakeLLMServer) -> None:
    fake_llm_server.reset()
    control = fake_llm_server.base_url.removesuffix("/v1")

    with httpx2.Client(base_url=control) as http:
        custom = {"mode": "custom", "subject": "S", "body": "B"}
        assert http.post("/_fake/configure", json=custom).status_code == 200
        refused = http.post("/_fake/configure", json={"mode": "sulk"})
        _sdk(fake_llm_server).chat.completions.create(model="m", messages=MESSAGES)
        seen = http.get("/_fake/requests").json()["requests"]
        assert http.post("/_fake/reset").json() == {"reset": True}

    assert refused.status_code == 400 and "unknown mode" in refused.json()["error"]["message"]
    assert [(r["mode"], r["json"]["messages"]) for r in seen] == [("custom", MESSAGES)]
    assert fake_llm_server.requests == []


def test_the_command_serves_until_stopped() -> None:
    env = {**os.environ, "DEBUG": "true"}
    server = subprocess.Popen(
        [sys.executable, "manage.py", "fake_llm_server", "--port", "0", "--delay", "0.01"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        base_url = next(word for word in banner.split() if word.startswith("http://"))
        client = openai.OpenAI(api_key="k", base_url=base_url, max_retries=0, timeout=5.0)
        stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    finally:
        server.terminate()
        server.wait()

    assert json.loads(text)["subject"]
