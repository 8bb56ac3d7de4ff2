"""compose.yaml refers to files that exist and keeps its operating rules; its schema is checked by
deploy/validate (check-jsonschema with the Compose specification)."""

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
# Made on the operator's machine by `make dev-cert`, never committed.
GENERATED = {ROOT / "deploy" / "dev-cert"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return document


def test_every_mounted_file_of_the_repository_exists(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                path = ROOT / source
                assert path.exists() or path in GENERATED, f"{name}: {source} does not exist"


def test_every_container_rotates_its_logs(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        logging = service.get("logging", {})
        assert logging.get("driver") == "json-file", name
        assert {"max-size", "max-file"} <= set(logging.get("options", {})), name


def test_application_containers_are_read_only_and_unprivileged(compose: dict[str, Any]) -> None:
    for name in ("migrate", "web", "worker", "beat"):
        service = compose["services"][name]
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "/tmp/prometheus" in service["tmpfs"], name  # noqa: S108 - inside the container


def test_the_app_starts_after_migrating_and_beat_is_single(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "wait_for_db" in " ".join(services["migrate"]["command"])
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    assert "deploy" not in services["beat"]
    observability = {name for name, service in services.items() if service.get("profiles")}
    assert observability == {"prometheus", "grafana", "loki", "alloy"}
