"""nil_ext's imports run one way (docs/architecture.md, "Imports run one way"): no circles, no arrow back up.

The graph is read from the source with ``ast``, not by importing it, so it needs no simulator. Every import counts:
at module level, inside functions (the lazy ones) and under ``TYPE_CHECKING``. Relative imports are resolved;
``from pkg import name`` is an arrow to ``pkg.name`` when that is a module, else to ``pkg`` (its ``__init__``). The
implicit import of a module's parent packages is not an arrow (every child would form a circle with a package that
re-exports it).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "source" / "nil_ext" / "nil_ext"

# Leaves import nothing of nil_ext, so every layer may use them.
LEAVES = {"nil_ext", "nil_ext.cache_dir", "nil_ext.child_process", "nil_ext.errors", "nil_ext.run_failure"}
# What each layer may import besides itself and the leaves; modules outside these layers (the scripts' floor: tools,
# cli, task_loading, overrides) may import any layer, and no layer imports them.
MAY_IMPORT = {
    "assets": set(),  # knows no task, no scene
    "scene": {"assets"},
    "rewards": set(),  # pure torch: no simulator, no task, no agent
    "agents": set(),  # sees a vectorised env and numbers
    "reference": {"assets", "scene", "rewards"},  # never tasks/
    # agent configs are registered beside the env configs (Isaac Lab's shape): only the config, not the runner
    "tasks": {"assets", "scene", "rewards", "reference", "agents.bro.config"},
    "evaluation": {"assets", "scene", "rewards", "reference", "tasks", "agents"},
}


def _modules(root: Path) -> dict[str, Path]:
    modules = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def import_graph(root: Path = PACKAGE_DIR) -> dict[str, set[str]]:
    """Module -> the nil_ext modules it imports."""
    modules = _modules(root)
    graph = {}
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            for target in names:
                while target and target not in modules and target.startswith("nil_ext."):
                    target = target.rpartition(".")[0]  # a name inside a module: the module
                if target in modules and target != name:
                    targets.add(target)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in MAY_IMPORT) else None


def _allowed(source: str, target: str) -> bool:
    if target in LEAVES:
        return True
    layer = _layer(source)
    if source in LEAVES:
        return False
    if layer is None:
        return True  # the scripts' floor uses everything
    rest = target.removeprefix("nil_ext.")
    return any(rest == allowed or rest.startswith(allowed + ".") for allowed in MAY_IMPORT.get(layer, set()) | {layer})


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    return [f"{source} -> {target}" for source in sorted(graph) for target in sorted(graph[source])
            if not _allowed(source, target)]


def test_the_graph_is_read():
    graph = import_graph()
    assert "nil_ext.tasks.mdp.commands" in graph and "nil_ext.assets.robot_cfg" in graph
    assert "nil_ext.assets.robots" in graph["nil_ext.assets.robot_cfg"]
    assert set(_layer(m) for m in graph) - {None} == set(MAY_IMPORT), "a new top-level package: give it its layer"


def test_no_import_circles():
    found = cycles(import_graph())
    assert not found, "import circles: " + "; ".join(" <-> ".join(c) for c in found)


def test_imports_run_one_way():
    found = layer_violations(import_graph())
    assert not found, "imports against the layers: " + ", ".join(found)


def test_the_checks_catch_what_they_are_for():
    graph = {"nil_ext.rewards.a": {"nil_ext.tasks.b"}, "nil_ext.tasks.b": {"nil_ext.rewards.a"},
             "nil_ext.reference.c": {"nil_ext.tools"}, "nil_ext.cache_dir": {"nil_ext.assets.robots"},
             "nil_ext.tools": {"nil_ext.reference.c"}, "nil_ext.assets.robots": set()}
    assert cycles(graph) == [["nil_ext.reference.c", "nil_ext.tools"], ["nil_ext.rewards.a", "nil_ext.tasks.b"]]
    assert layer_violations(graph) == ["nil_ext.cache_dir -> nil_ext.assets.robots",
                                       "nil_ext.reference.c -> nil_ext.tools", "nil_ext.rewards.a -> nil_ext.tasks.b"]
