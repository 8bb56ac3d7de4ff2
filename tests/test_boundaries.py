"""Import contracts between the platform and the apps (issue 9), enforced in the normal suite.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``) and run as ``lint-imports`` in
``make lint``; here they run over every app in ``INSTALLED_APPS``, and against a small project
with one bad import each, to show that each contract can fail. ``apps.get_model`` hides a
dependency from the import graph, so an AST check forbids it across apps.
"""

import ast
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def local_apps() -> list[str]:
    """The project's own apps (top-level packages of this repository) in INSTALLED_APPS."""
    return [config.name for config in apps.get_app_configs() if Path(config.path).parent == ROOT]


PLATFORM_PACKAGE = "engagement"


def with_apps(contract: dict[str, Any], apps: list[str]) -> dict[str, Any]:
    """``contract`` with ``apps`` added to the apps it names (pyproject names the planned ones)."""
    key = {"platform": "forbidden_modules", "apps": "apps"}.get(contract["id"])
    if key is None:
        return contract
    return {**contract, key: [*contract[key], *(app for app in apps if app not in contract[key])]}


def lint_imports(
    project: Path, root_packages: list[str], config_file: Path
) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with this repository's contracts over ``root_packages`` of ``project``
    (the configuration, written to ``config_file``, differs from pyproject's only by those, and
    by naming every root package but the platform as an app, whatever its name)."""
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    config = {**options, "root_packages": root_packages}
    apps = [package for package in root_packages if package != PLATFORM_PACKAGE]
    config["contracts"] = [with_apps(contract, apps) for contract in options["contracts"]]
    lines = ["[tool.importlinter]"]
    # JSON's strings, lists and booleans are valid TOML.
    lines += [f"{key} = {json.dumps(value)}" for key, value in config.items() if key != "contracts"]
    for contract in config["contracts"]:
        lines.append("[[tool.importlinter.contracts]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in contract.items()]
    config_file.write_text("\n".join(lines) + "\n")
    return subprocess.run(  # noqa: S603 - this environment's lint-imports, a file we wrote
        [str(LINT_IMPORTS), "--config", str(config_file), "--no-cache", "--no-logo"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "250"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_import_contracts_hold_for_every_app(tmp_path: Path) -> None:
    result = lint_imports(ROOT, local_apps(), tmp_path / "importlinter.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


# A small project that keeps every contract: the platform, two apps, and the imports allowed.
CLEAN_PROJECT = {
    "engagement/__init__.py": "",
    "engagement/models.py": "",
    "engagement/api/__init__.py": "",
    "engagement/api/permissions.py": "from engagement import models\n",
    "learners/__init__.py": "",
    "learners/models.py": "from engagement import models\n",
    "learners/services.py": "from learners import models\n",
    "learners/contracts.py": "from learners import models\n",
    "learners/admin.py": "from learners.api import serializers\n",
    "learners/api/__init__.py": "",
    "learners/api/serializers.py": "from engagement.api import permissions\n",
    "learners/management/__init__.py": "",
    "learners/management/commands/__init__.py": "",
    "learners/management/commands/rescore.py": "from learners.api import serializers\n",
    "nudges/__init__.py": "",
    "nudges/services.py": "from learners import contracts\nfrom engagement import models\n",
}

PLATFORM = "engagement (the platform) imports no app"
DOORS = "Only doors (API, admin, app config, URLs, views, pages, commands) import an api package"
APPS = "An app imports another app only through its public module (<app>.contracts)"


def write_project(root: Path, extra: dict[str, str]) -> None:
    for name, source in {**CLEAN_PROJECT, **extra}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)


def test_a_project_within_the_rules_keeps_every_contract(tmp_path: Path) -> None:
    write_project(tmp_path, {})
    result = lint_imports(tmp_path, ["engagement", "learners", "nudges"], tmp_path / "il.toml")
    assert "Contracts: 3 kept, 0 broken." in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        ("engagement/services.py", "import learners.models\n", PLATFORM),
        # An app that does not exist yet is named by the contract already.
        ("engagement/services.py", "import simulation.runs\n", PLATFORM),
        ("learners/services.py", "from learners.api import serializers\n", DOORS),
        ("engagement/jobs.py", "from engagement.api import permissions\n", DOORS),
        ("nudges/services.py", "from learners import services\n", APPS),
        ("learners/services.py", "from nudges import services\n", APPS),
    ],
)
def test_each_contract_fails_on_a_bad_import(
    tmp_path: Path, module: str, source: str, broken: str
) -> None:
    write_project(tmp_path, {module: source})
    result = lint_imports(tmp_path, ["engagement", "learners", "nudges"], tmp_path / "il.toml")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{broken} BROKEN" in result.stdout, result.stdout
    assert "Contracts: 2 kept, 1 broken." in result.stdout


def test_an_app_the_configuration_does_not_name_is_held_to_the_contracts(tmp_path: Path) -> None:
    """An app not planned in pyproject (here ``reports``) is covered once it is installed."""
    packages = ["engagement", "learners", "nudges", "reports"]
    write_project(tmp_path, {"reports/__init__.py": "", "reports/services.py": ""})
    assert "Contracts: 3 kept" in lint_imports(tmp_path, packages, tmp_path / "il.toml").stdout
    write_project(tmp_path, {"engagement/services.py": "import reports.services\n"})
    result = lint_imports(tmp_path, packages, tmp_path / "il.toml")
    assert f"{PLATFORM} BROKEN" in result.stdout, result.stdout
    write_project(
        tmp_path,
        {"engagement/services.py": "", "reports/services.py": "import learners.services\n"},
    )
    result = lint_imports(tmp_path, packages, tmp_path / "il.toml")
    assert f"{APPS} BROKEN" in result.stdout, result.stdout


def cross_app_models(source: str, *, app: str) -> set[str]:
    """App labels other than ``app`` named by ``get_model("<label>", ...)`` or ``"<label>.Model"``."""
    labels = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
        first = node.args[0]
        if name == "get_model" and isinstance(first, ast.Constant) and isinstance(first.value, str):
            labels.add(first.value.split(".", 1)[0])
    return labels - {app}


def test_get_model_does_not_cross_apps_outside_migrations() -> None:
    found = set()
    for app in local_apps():
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for label in cross_app_models(path.read_text(), app=app):
                found.add((str(path.relative_to(ROOT)), label))
    assert found == set(), "use the other app's public module instead"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('apps.get_model("learners", "Cohort")', {"learners"}),
        ('apps.get_model("nudges.Nudge")', {"nudges"}),
        ('get_model("learners", "Cohort")', {"learners"}),
        ('apps.get_model("engagement", "User")', set()),
        ('apps.get_app_config("learners")', set()),
    ],
)
def test_the_get_model_check_sees_crossings(source: str, expected: set[str]) -> None:
    assert cross_app_models(source, app="engagement") == expected
