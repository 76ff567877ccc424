"""The layout holds: who may import whom, no import loops, modules small enough to read.

Read from the source with `ast` (nothing is imported), so a rule broken anywhere fails here
with the file and the import that broke it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"hotspotd": ROOT / "hotspotd", "hotspotd.web": ROOT / "web", "hotspotd.radius": ROOT / "radius"}
MAX_LINES = 400
MAX_FLAT = 20  # modules directly in hotspotd/: the rest live in rooms a newcomer can name


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


def _run_nodes(tree: ast.AST):
    """Every node of `tree` except what sits under `if TYPE_CHECKING:` (never run)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING":
            continue
        yield node
        yield from _run_nodes(node)


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `name` imports, at its top or inside functions (relative imports
    resolved; imports for type checkers only are left out)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in _run_nodes(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def test_web_calls_the_core_use_cases_not_what_lies_below_them():
    known = set(modules())
    forbidden = {"hotspotd.plumbing.tasks", "hotspotd.plumbing.queue", "hotspotd.store.batching", "hotspotd.plumbing.runtime"}
    for name, path in modules().items():
        if not name.startswith("hotspotd.web"):
            continue
        assert not imports(name, path, known) & forbidden, f"{path} reaches below the core's use cases"
        text = path.read_text()
        assert "import peewee" not in text and "from peewee" not in text, f"{path} imports peewee"


def test_only_the_command_line_and_the_simulators_import_simulators():
    known = set(modules())
    for name, path in modules().items():
        if name.startswith(("hotspotd.sim", "hotspotd.cli")):
            continue
        sims = {m for m in imports(name, path, known) if m.startswith("hotspotd.sim")}
        assert not sims, f"{path} imports {sims}"


def test_the_core_imports_neither_web_nor_radius():
    known = set(modules())
    for name, path in modules().items():
        if name.startswith(("hotspotd.web", "hotspotd.radius", "hotspotd.cli")):
            continue
        reached = {m for m in imports(name, path, known) if m.startswith(("hotspotd.web", "hotspotd.radius"))}
        assert not reached, f"{path} imports {reached}"


def test_the_customers_use_cases_and_the_operators_stay_apart_and_above_the_web():
    """`hotspotd.customer` (what a customer does) and `hotspotd.console` (what an operator
    does) share what lies below them, never each other; neither knows the web that calls it."""
    known = set(modules())
    rooms = {"hotspotd.customer": "hotspotd.console", "hotspotd.console": "hotspotd.customer"}
    for name, path in modules().items():
        room = next((r for r in rooms if name == r or name.startswith(r + ".")), None)
        if room is None:
            continue
        other = rooms[room]
        reached = {m for m in imports(name, path, known)
                   if m == other or m.startswith((other + ".", "hotspotd.web"))}
        assert not reached, f"{path} imports {reached}"


def test_few_modules_are_left_directly_in_the_package():
    flat = sorted(p.name for p in FOLDERS["hotspotd"].glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert len(flat) <= MAX_FLAT, f"{len(flat)} modules directly in hotspotd/ (at most {MAX_FLAT}): {flat}"


def test_no_import_loops():
    """No module reaches back, at load or inside a function, to a module that imports it."""
    table = modules()
    known = set(table)
    graph = {name: imports(name, path, known) for name, path in table.items()}
    # A package imports its submodules by design (re-exports); a submodule importing its
    # package's __init__ is then not a loop of meaning. Keep only edges between modules.
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".") and not m.startswith(name + ".")}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                loop = trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt]
                raise AssertionError("import loop: " + " -> ".join(loop))
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_modules_stay_small_enough_to_read():
    for name, path in modules().items():
        lines = len(path.read_text().splitlines())
        assert lines <= MAX_LINES, f"{path} has {lines} lines (at most {MAX_LINES})"
