"""The image's HEALTHCHECK (deploy/healthcheck.py) passes against a live server, as production
would run it (DEBUG off: HTTPS redirect and host checks on), and fails when nothing answers."""

import importlib.util
import socket
import threading
from pathlib import Path
from types import ModuleType
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.test import override_settings

HEALTHCHECK = Path(__file__).resolve().parents[2] / "deploy" / "healthcheck.py"


def load_healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("healthcheck", HEALTHCHECK)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No access lines in the test output."""


@override_settings(SECURE_SSL_REDIRECT=True, ALLOWED_HOSTS=["engage.example.org"])
def test_healthy_server_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    # A handler built under these settings: middleware reads SECURE_SSL_REDIRECT when it loads.
    with make_server("127.0.0.1", 0, WSGIHandler(), handler_class=QuietHandler) as server:
        answering = threading.Thread(target=server.handle_request)
        answering.start()
        monkeypatch.setenv("ALLOWED_HOSTS", "engage.example.org,localhost")
        assert load_healthcheck().main(server.server_port) == 0
        answering.join()


def test_nothing_listening_fails() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    assert load_healthcheck().main(free_port) == 1


@pytest.mark.parametrize(
    ("allowed", "host"),
    [("engage.example.org,web", "engage.example.org"), (".example.org", "example.org"),
     ("*", "localhost"), ("", "localhost")],
)  # fmt: skip
def test_probe_names_the_first_allowed_host(
    monkeypatch: pytest.MonkeyPatch, allowed: str, host: str
) -> None:
    monkeypatch.setenv("ALLOWED_HOSTS", allowed)
    assert load_healthcheck().probe_host() == host
