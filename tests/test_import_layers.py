"""The package's modules form layers: no module imports one that imports it back, directly or
through others, counting imports inside functions (a function-level import that dodges a circle
is still one)."""

from __future__ import annotations

import ast
from pathlib import Path

import gans

PACKAGE = Path(gans.__file__).parent


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package modules ``name`` imports anywhere in its file (parents of ``name`` aside:
    importing ``gans.a.b`` imports ``gans.a`` by Python's rules, not by a choice)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                kept = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*kept, base] if base else kept)
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rsplit(".", 1)[0] if "." in target else ""
            if target and target != name and not name.startswith(target + "."):
                out.add(target)
    return out


def test_no_module_imports_one_that_imports_it_back():
    known = modules()
    graph = {name: imported(name, path, known) for name, path in known.items()}
    circles = []

    def reach(start: str) -> set[str]:
        seen, todo = set(), list(graph[start])
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo.extend(graph[node])
        return seen

    for name in sorted(graph):
        back = sorted(m for m in graph[name] if name in reach(m))
        if back:
            circles.append(f"{name} <-> {', '.join(back)}")
    assert circles == []


def test_the_commands_do_not_import_training():
    known = modules()
    for command in ("gans.sample", "gans.evaluate", "gans.translate", "gans.dashboard",
                    "gans.train_classifier"):  # fmt: skip
        assert "gans.train" not in imported(command, known[command], known), command
