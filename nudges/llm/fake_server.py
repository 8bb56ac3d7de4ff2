"""A local OpenAI-compatible server: chat completions (streamed or not) that can be told to fail.

The real ``openai`` SDK talks to it over HTTP, in the tests (``tests/nudges/conftest.py``,
fixture ``fake_llm``), in ``make run`` (``manage.py fake_llm_server``) and in the benchmark, so
every fault the client must survive is produced the way a real provider produces it, without
patching the SDK. Only the standard library is used: the server has nothing to install.

Modes (``FakeLLMServer.configure(mode=...)``, ``POST /_fake/configure`` from another process,
or a ``script`` of modes consumed one per request before the default mode applies again):

- ``normal``: a valid ``{"subject", "body"}`` answer after ``delay`` seconds;
- ``slow``: the same after ``slow_seconds`` (longer than a client timeout in the tests);
- ``rate_limited``: 429 with ``Retry-After: <retry_after>``; with ``enforce_retry_after``, a
  request arriving before that wait is over is refused again, as a real rate limiter does
  (recorded as mode ``too_early``, the script left as it was), so a test sees whether the
  client honoured the header without timing it;
- ``server_error``: 500;
- ``malformed``: a 200 whose message content is not the JSON asked for;
- ``garbage``: a 200 whose HTTP body is not JSON at all;
- ``custom``: the ``subject`` and ``body`` configured;
- one per guardrail (``GUARDRAIL_MODES``): a well-formed answer whose text breaks that rule.
"""

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

NORMAL_SUBJECT = "Let's pick up where you left off"
NORMAL_BODY = (
    "Hi there, your course is waiting for you. A short session this week is enough to get "
    "back on track: open the next lesson and spend fifteen minutes on it. Your coach is here "
    "if anything is in the way."
)

#: A well-formed answer whose text breaks one guardrail, by the rule it breaks.
GUARDRAIL_MODES: dict[str, tuple[str, str]] = {
    "pii_email": (
        NORMAL_SUBJECT,
        "Hi there, write to me at jordan.miller@example.com if you want to talk about the course.",
    ),
    "pii_phone": (
        NORMAL_SUBJECT,
        "Hi there, call me on +1 415 555 0134 any evening and we will plan your next lesson.",
    ),
    "other_name": (
        NORMAL_SUBJECT,
        "Hi there, Margaret Whitfield from your cohort finished this module last week: you can too.",
    ),
    "link": (
        NORMAL_SUBJECT,
        "Hi there, catch up quickly with the summaries at https://cheap-answers.example.net/course.",
    ),
    "number": (
        NORMAL_SUBJECT,
        "Hi there, you have not logged in for 412 days and you are only 3% through the course.",
    ),
    "shaming": (
        "You are falling behind everyone",
        "Hi there, this is embarrassing: you are lazy and you will fail. If you do not log in "
        "today you will be expelled from the course.",
    ),
    "too_long": ("A very long reminder " * 10, "Hi there, keep going. " * 200),
}

#: The mode recorded for a request that came back before the ``Retry-After`` it was given.
TOO_EARLY = "too_early"

FAILURE_MODES = ("slow", "rate_limited", "server_error", "malformed", "garbage")
MODES = ("normal", "custom", *FAILURE_MODES, *GUARDRAIL_MODES)

#: How many characters of message text the fake counts as one token.
CHARS_PER_TOKEN = 4
#: Requests remembered for ``requests`` (a long benchmark run must not grow without bound).
KEPT_REQUESTS = 1000
#: Characters per streamed chunk.
STREAM_CHUNK_CHARS = 12


def count_tokens(text: str) -> int:
    """The fake's token count for ``text`` (tests compute expected usage and cost with it)."""
    return len(text) // CHARS_PER_TOKEN + 1


@dataclass
class FakeState:
    """What the server answers next, and what it has been asked (shared by handler threads)."""

    mode: str = "normal"
    delay: float = 0.0
    slow_seconds: float = 3.0
    retry_after: str = "1"
    enforce_retry_after: bool = False
    blocked_until: float = 0.0
    subject: str = NORMAL_SUBJECT
    body: str = NORMAL_BODY
    script: list[str] = field(default_factory=list)
    requests: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=KEPT_REQUESTS))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_mode(self, request: dict[str, Any]) -> str:
        with self.lock:
            if self.enforce_retry_after and time.monotonic() < self.blocked_until:
                mode = TOO_EARLY
            else:
                mode = self.script.pop(0) if self.script else self.mode
            self.requests.append({"at": time.monotonic(), "mode": mode, "json": request})
        return mode


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}: one of {', '.join(MODES)}")
    return mode


class FakeLLMServer:
    """The server on ``host:port`` (port 0: a free one), run in a background thread by
    ``start()`` or in the foreground by ``serve_forever()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, delay: float = 0.0) -> None:
        self.state = FakeState(delay=delay)
        self._httpd = _Server((host, port), self.state)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The ``OPENAI_BASE_URL`` that reaches this server."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> "FakeLLMServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def configure(self, **changes: Any) -> None:
        """Change the answer: ``mode``, ``delay``, ``slow_seconds``, ``retry_after``,
        ``enforce_retry_after``, ``subject``, ``body`` or ``script`` (modes for the next
        requests, in order)."""
        _configure(self.state, changes)

    def reset(self) -> None:
        """Back to normal answers with no delay, and forget the requests seen."""
        _reset(self.state)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Each chat completion request received: ``at`` (monotonic time), ``mode``, ``json``."""
        with self.state.lock:
            return list(self.state.requests)


def _configure(state: FakeState, changes: dict[str, Any]) -> None:
    allowed = {
        "mode",
        "delay",
        "slow_seconds",
        "retry_after",
        "enforce_retry_after",
        "subject",
        "body",
        "script",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    with state.lock:
        if "mode" in changes:
            state.mode = _check_mode(changes["mode"])
        if "script" in changes:
            state.script = [_check_mode(mode) for mode in changes["script"]]
        for name in ("delay", "slow_seconds"):
            if name in changes:
                setattr(state, name, float(changes[name]))
        for name in ("retry_after", "subject", "body"):
            if name in changes:
                setattr(state, name, str(changes[name]))
        if "enforce_retry_after" in changes:
            state.enforce_retry_after = bool(changes["enforce_retry_after"])


def _reset(state: FakeState) -> None:
    with state.lock:
        state.mode, state.delay, state.script = "normal", 0.0, []
        state.subject, state.body, state.retry_after = NORMAL_SUBJECT, NORMAL_BODY, "1"
        state.enforce_retry_after, state.blocked_until = False, 0.0
        state.requests.clear()


def _block(state: FakeState) -> None:
    """Start the wait a 429 asks for (seconds only: an HTTP date starts none)."""
    try:
        wait = float(state.retry_after)
    except ValueError:
        return
    with state.lock:
        state.blocked_until = time.monotonic() + wait


def _answer_text(state: FakeState, mode: str) -> str:
    """The assistant message content for a mode that answers 200."""
    if mode == "malformed":
        return '{"subject": "Keep going", "body": "Hi there, your next lesson'
    if mode in GUARDRAIL_MODES:
        subject, body = GUARDRAIL_MODES[mode]
    elif mode == "custom":
        subject, body = state.subject, state.body
    else:
        subject, body = NORMAL_SUBJECT, NORMAL_BODY
    return json.dumps({"subject": subject, "body": body})


def _usage(request: dict[str, Any], content: str) -> dict[str, int]:
    prompt = "".join(str(message.get("content", "")) for message in request.get("messages", []))
    tokens_in, tokens_out = count_tokens(prompt), count_tokens(content)
    return {
        "prompt_tokens": tokens_in,
        "completion_tokens": tokens_out,
        "total_tokens": tokens_in + tokens_out,
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: FakeState) -> None:
        super().__init__(address, _Handler)
        self.state = state


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests and ``make run`` read the requests, not a log."""

    def do_GET(self) -> None:
        state = self.server.state
        if self.path == "/_fake/requests":
            with state.lock:
                seen = [{"mode": r["mode"], "json": r["json"]} for r in state.requests]
            self._json(HTTPStatus.OK, {"requests": seen})
        elif self.path.rstrip("/") == "/v1/models":
            self._json(HTTPStatus.OK, {"object": "list", "data": [_model("fake")]})
        else:
            self._json(HTTPStatus.NOT_FOUND, _error("not found", "not_found"))

    def do_POST(self) -> None:
        try:
            request = json.loads(self._read_body() or b"{}")
        except ValueError:
            self._json(HTTPStatus.BAD_REQUEST, _error("body is not JSON", "invalid_json"))
            return
        if self.path == "/_fake/configure":
            self._configure(request)
        elif self.path == "/_fake/reset":
            _reset(self.server.state)
            self._json(HTTPStatus.OK, {"reset": True})
        elif self.path.rstrip("/") == "/v1/chat/completions":
            self._chat(request)
        else:
            self._json(HTTPStatus.NOT_FOUND, _error("not found", "not_found"))

    def _configure(self, request: dict[str, Any]) -> None:
        try:
            _configure(self.server.state, request)
        except (ValueError, TypeError) as error:
            self._json(HTTPStatus.BAD_REQUEST, _error(str(error), "invalid_setting"))
            return
        self._json(HTTPStatus.OK, {"configured": sorted(request)})

    def _chat(self, request: dict[str, Any]) -> None:
        state = self.server.state
        mode = state.next_mode(request)
        time.sleep(state.slow_seconds if mode == "slow" else state.delay)
        if mode in ("rate_limited", TOO_EARLY):
            if mode == "rate_limited":
                _block(state)
            self._json(
                HTTPStatus.TOO_MANY_REQUESTS,
                _error("Rate limit reached", "rate_limit_exceeded"),
                headers={"Retry-After": state.retry_after},
            )
        elif mode == "server_error":
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR, _error("The server had an error", None))
        elif mode == "garbage":
            self._send(HTTPStatus.OK, b"<html>upstream proxy error", "application/json")
        elif request.get("stream"):
            self._stream(request, _answer_text(state, mode))
        else:
            self._json(HTTPStatus.OK, _completion(request, _answer_text(state, mode)))

    def _stream(self, request: dict[str, Any], content: str) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        ident, model = f"chatcmpl-{uuid.uuid4().hex}", str(request.get("model", "fake"))
        pieces = [
            content[start : start + STREAM_CHUNK_CHARS]
            for start in range(0, len(content), STREAM_CHUNK_CHARS)
        ]
        for index, piece in enumerate(pieces):
            delta: dict[str, Any] = {
                "content": piece,
                **({"role": "assistant"} if not index else {}),
            }
            finish_reason = "stop" if index == len(pieces) - 1 else None
            self._event(_chunk(ident, model, delta, finish_reason))
        if (request.get("stream_options") or {}).get("include_usage"):
            self._event({**_chunk(ident, model, None, None), "usage": _usage(request, content)})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _event(self, payload: dict[str, Any]) -> None:
        self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
        self.wfile.flush()

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _json(
        self, status: HTTPStatus, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _send(
        self,
        status: HTTPStatus,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "local"}


def _error(message: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": "fake_error", "param": None, "code": code}}


def _completion(request: dict[str, Any], content: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(request.get("model", "fake")),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": _usage(request, content),
    }


def _chunk(
    ident: str, model: str, delta: dict[str, Any] | None, finish_reason: str | None
) -> dict[str, Any]:
    choices = (
        []
        if delta is None
        else [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]
    )
    return {
        "id": ident,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
    }
