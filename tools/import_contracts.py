"""An import-linter contract type: no import cycle between any two modules of the project.

import-linter's own ``acyclic_siblings`` looks for cycles among the children of one package; Convene's
apps are separate top-level packages, so a cycle such as ``cases.services -> notifications.services ->
cases.services`` has no common parent to look under. This contract takes the whole graph instead
(every import grimp finds, the ones inside functions included) and reports each group of modules that
import each other round in a circle (a strongly connected component), with one cycle through it and
the line of each import, so the fix can start there.

    [tool.importlinter]
    contract_types = ["acyclic_modules: tools.import_contracts.AcyclicModulesContract"]

    [[tool.importlinter.contracts]]
    name = "No import cycle between modules"
    type = "acyclic_modules"
    exclude = ["tests", "*.tests"]  # left out with their descendants: test modules sit above everything
    ignore_imports = []             # "a.b -> c.d", as in the other contract types
"""

from __future__ import annotations

from collections import deque

import grimp
from importlinter import Contract, ContractCheck, fields, output
from importlinter.application import contract_utils
from importlinter.application.contract_utils import AlertLevel
from importlinter.domain.helpers import module_expressions_to_modules


class AcyclicModulesContract(Contract):
    type_name = "acyclic_modules"

    exclude = fields.SetField(subfield=fields.ModuleExpressionField(), required=False)
    ignore_imports = fields.SetField(subfield=fields.ImportExpressionField(), required=False)
    unmatched_ignore_imports_alerting = fields.EnumField(AlertLevel, default=AlertLevel.ERROR)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        removal = contract_utils.remove_ignored_imports_and_report(
            graph=graph,
            ignore_imports=self.ignore_imports,  # type: ignore[arg-type]
            unmatched_alerting=self.unmatched_ignore_imports_alerting,  # type: ignore[arg-type]
        )
        excluded = {
            m.name
            for m in module_expressions_to_modules(graph, self.exclude or (), as_packages=True)  # type: ignore[arg-type]
        }
        modules = sorted(m for m in graph.modules if m not in excluded)
        edges = {
            m: sorted(i for i in graph.find_modules_directly_imported_by(m) if i not in excluded)
            for m in modules
        }
        cycles = []
        for component in _strongly_connected(modules, edges):
            path = _one_cycle(component, edges)
            links = []
            for importer, imported in zip(path, path[1:], strict=False):
                details = graph.get_import_details(importer=importer, imported=imported)
                lines = ", ".join(f"l.{d['line_number']}" for d in details)
                links.append({"importer": importer, "imported": imported, "lines": lines})
            cycles.append({"modules": sorted(component), "links": links})
        return ContractCheck(
            kept=not cycles,
            warnings=list(removal.warnings),
            ignored_import_count=removal.ignored_import_count,
            metadata={"cycles": cycles},
        )

    def render_broken_contract(self, check: ContractCheck) -> None:
        for cycle in check.metadata["cycles"]:
            output.print_error(f"{len(cycle['modules'])} modules import each other in a cycle:", bold=True)
            output.new_line()
            for link in cycle["links"]:
                output.indent_cursor()
                output.print_error(f"{link['importer']} -> {link['imported']} ({link['lines']})", bold=False)
            output.new_line()


def _strongly_connected(nodes: list[str], edges: dict[str, list[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (the graph is deep enough to exhaust Python's recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = edges.get(node, [])
            if position < len(successors):
                work.append((node, position + 1))
                nxt = successors[position]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if work:  # finished with node: pass its low-link up to its caller
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return sorted(found, key=lambda c: sorted(c))


def _one_cycle(component: set[str], edges: dict[str, list[str]]) -> list[str]:
    """The shortest way round from the component's first module back to itself."""
    start = min(component)
    came_from: dict[str, str] = {}
    queue: deque[str] = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in edges[node]:
            if nxt not in component:
                continue
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    return [start]


__all__ = ["AcyclicModulesContract"]
