"""A custom import-linter contract (``public_surface``, configured in ``pyproject.toml``).

import-linter's ``protected`` contract cannot name apps that do not exist yet, nor let every
other app import one module of a protected package; this contract does both: an app may import
another app only through that app's public modules (``<app>.contracts``).
"""

from typing import Any

import grimp
from importlinter import Contract, ContractCheck, fields, output


def _app_of(module: str, apps: set[str]) -> str | None:
    root = module.split(".", 1)[0]
    return root if root in apps else None


class PublicSurfaceContract(Contract):
    """Options: ``apps`` (the apps, present or not yet), ``public_modules`` (names under an app
    that other apps may import, with their submodules)."""

    type_name = "public_surface"

    apps = fields.ListField(subfield=fields.StringField())
    public_modules = fields.ListField(subfield=fields.StringField())

    def _is_public(self, module: str, app: str) -> bool:
        return any(
            module == f"{app}.{public}" or module.startswith(f"{app}.{public}.")
            for public in self.public_modules
        )

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        apps = set(self.apps)  # type: ignore[call-overload]
        illegal: list[dict[str, Any]] = []
        for importer in sorted(graph.modules):
            importer_app = _app_of(importer, apps)
            if importer_app is None:
                continue
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                imported_app = _app_of(imported, apps)
                if imported_app is None or imported_app == importer_app:
                    continue
                if self._is_public(imported, imported_app):
                    continue
                details = graph.get_import_details(importer=importer, imported=imported)
                illegal.append(
                    {
                        "importer": importer,
                        "imported": imported,
                        "line_numbers": [detail["line_number"] for detail in details],
                        # An app missing from root_packages is one opaque module: list it there.
                        "unlisted": graph.is_module_squashed(imported),
                    }
                )
        return ContractCheck(kept=not illegal, metadata={"illegal_imports": illegal})

    def render_broken_contract(self, check: ContractCheck) -> None:
        public = ", ".join(f"<app>.{name}" for name in self.public_modules)
        output.print_error(f"Apps may import another app only through {public}:", bold=False)
        output.new_line()
        for link in check.metadata["illegal_imports"]:
            lines = ", ".join(map(str, link["line_numbers"]))
            hint = " (add it to root_packages to see which module)" if link["unlisted"] else ""
            output.print_error(
                f"- {link['importer']} -> {link['imported']} (l.{lines}){hint}", bold=False
            )
        output.new_line()
