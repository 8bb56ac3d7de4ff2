"""deploy/gunicorn.conf.py as gunicorn reads it: every name is one of gunicorn's settings, its own
log lines render in the application's format, and no control socket is opened."""

import json
import logging
import runpy
from logging.config import DictConfigurator
from pathlib import Path
from typing import Any

import pytest
from gunicorn.config import Config

GUNICORN_CONF = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"


def _settings_of(monkeypatch: pytest.MonkeyPatch, log_format: str) -> dict[str, Any]:
    """The file's public names, read as gunicorn does, with ``LOG_FORMAT`` set to ``log_format``."""
    monkeypatch.setattr("engagement.settings.LOG_FORMAT", log_format)
    names = runpy.run_path(str(GUNICORN_CONF))
    return {name: value for name, value in names.items() if not name.startswith("_")}


def _gunicorn_config(settings: dict[str, Any]) -> Config:
    config = Config()
    for name, value in settings.items():
        if name in config.settings:
            config.set(name, value)
    return config


def test_every_setting_in_the_file_is_one_gunicorn_knows(monkeypatch: pytest.MonkeyPatch) -> None:
    """gunicorn ignores a misspelt name silently; this does not."""
    settings = _settings_of(monkeypatch, "json")
    imported = {"os", "Path", "Any", "multiprocess", "gunicorn_logging", "LOG_FORMAT", "LOG_LEVEL"}
    assert set(settings) - imported <= set(Config().settings)


def test_no_control_socket_is_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    """gunicorn 27 would open one under $HOME, read-only in the containers."""
    assert _gunicorn_config(_settings_of(monkeypatch, "json")).control_socket_disable is True


def test_gunicorn_lines_are_json_and_its_access_log_stays_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    logconfig = _gunicorn_config(_settings_of(monkeypatch, "json")).logconfig_dict
    error_log = logconfig["loggers"]["gunicorn.error"]
    handler = logconfig["handlers"][error_log["handlers"][0]]
    formatter = DictConfigurator(logconfig).configure_formatter(
        logconfig["formatters"][handler["formatter"]]
    )
    record = logging.LogRecord(
        "gunicorn.error", logging.INFO, __file__, 1, "Starting gunicorn %s", ("27.0.1",), None
    )
    line = json.loads(formatter.format(record))
    assert line["event"] == "Starting gunicorn 27.0.1"
    assert (line["level"], line["logger"]) == ("info", "gunicorn.error")
    assert error_log["propagate"] is False
    access_log = logconfig["loggers"]["gunicorn.access"]
    assert access_log["handlers"] == [] and access_log["propagate"] is False
    assert logging.getLevelName(access_log["level"]) > logging.INFO  # access lines are INFO
