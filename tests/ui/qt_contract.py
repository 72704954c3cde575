"""An import-linter contract for one Qt module: ``source_modules`` import nothing from
``qt_module`` (e.g. ``PySide6.QtWidgets``), neither themselves nor through a module of the project
that does. import-linter's own contracts see an external package only as a whole (PySide6),
which the view-models need for QtCore and QtGui; this one reads the import lines."""

from __future__ import annotations

from typing import Any

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


class QtModuleContract(Contract):
    source_modules = fields.ListField(subfield=fields.ModuleField())
    qt_module = fields.StringField()

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        qt = str(self.qt_module)
        package = qt.split(".")[0]
        users: set[str] = set()
        for importer in graph.find_modules_that_directly_import(package):
            details: list[dict[str, Any]] = graph.get_import_details(importer=importer,
                                                                     imported=package)
            if any(qt in str(d["line_contents"]) for d in details):
                users.add(importer)
        violations = []
        for source in self.source_modules:  # type: ignore[attr-defined]
            modules = {source.name} | set(graph.find_descendants(source.name))
            for module in sorted(modules):
                if module in users:
                    violations.append(f"{module} imports {qt}")
                    continue
                for user in sorted(users - modules):
                    chain = graph.find_shortest_chain(importer=module, imported=user)
                    if chain:
                        violations.append(f"{' -> '.join(chain)} (which imports {qt})")
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for violation in check.metadata["violations"]:
            output.print_error(violation)
            output.new_line()
