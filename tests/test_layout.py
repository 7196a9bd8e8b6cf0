"""The tree shows the pipeline: stage packages whose imports run one way, with no circle.

`cli` -> `aws` -> the stages (`render`, `reconcile`, `lint`, `findings`, `adopt`, `report`) ->
`model` -> `base`, as README's "How the code is laid out" and design.md's table say. Imports are
read with `ast`, lazy ones inside functions included, so a shortcut taken in a function body
cannot hide an upward arrow.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "generator"

# What each package may import besides itself.
ALLOWED: dict[str, set[str]] = {
    "base": set(),
    "model": {"base"},
    "render": {"model", "base"},
    "reconcile": {"model", "base"},
    "lint": {"model", "base"},
    "findings": {"model", "base"},
    "adopt": {"model", "render", "reconcile", "base"},
    "report": {"model", "reconcile", "base"},
    "aws": {"model", "render", "reconcile", "lint", "findings", "adopt", "report", "base"},
    "cli": {"aws", "model", "render", "reconcile", "lint", "findings", "adopt", "report", "base"},
}
# The package's own files: `__init__` holds the version only (base level), `__main__` runs the CLI.
ROOT_MODULES = {"generator": "base", "generator.__main__": "cli"}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def stage(module: str) -> str | None:
    """The stage package a module of ecrgen belongs to."""
    if module in ROOT_MODULES:
        return ROOT_MODULES[module]
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else None


def imported_modules(path: Path, module: str, known: set[str]) -> set[str]:
    """Every ecrgen module `path` imports, anywhere in the file (`from generator.model import
    config` names the module generator.model.config)."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "generator")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] != "generator":
                continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
    return found


def graph(root: Path) -> dict[str, set[str]]:
    files = {module_name(path, root): path for path in root.rglob("*.py")}
    known = set(files)
    return {module: imported_modules(path, module, known) & known for module, path in files.items()}


def violations(root: Path) -> list[str]:
    """Upward or sideways imports, modules outside every stage, and import circles."""
    edges = graph(root)
    problems = []
    for module, targets in sorted(edges.items()):
        own = stage(module)
        if own is None:
            problems.append(f"{module} is in no stage package")
            continue
        for target in sorted(targets):
            other = stage(target)
            if other != own and other not in ALLOWED[own]:
                problems.append(f"{module} ({own}) imports {target} ({other})")
    problems += [f"import circle: {' -> '.join(cycle)}" for cycle in cycles(edges)]
    return problems


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected group of modules (a package importing its own
    submodules from its __init__ is no circle: the submodules do not import the package back)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges.get(module, ())):
            if target in path and target != module and state.get(target) == 1:
                found.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    return found


def test_every_import_runs_down_the_stages_and_no_module_imports_itself_back() -> None:
    assert violations(PACKAGE) == []


def test_no_module_is_left_on_the_packages_own_floor() -> None:
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert loose == []


def test_each_stage_package_says_what_it_may_import_in_one_line() -> None:
    packages = sorted(init.parent.name for init in PACKAGE.glob("*/__init__.py"))
    assert set(packages) <= set(ALLOWED)
    for name in packages:
        doc = ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text())) or ""
        assert "\n" not in doc.strip() and "May import:" in doc, name


@pytest.mark.parametrize(("module", "line", "expected"), [
    ("model/config.py", "from generator.render import template", "generator.model.config (model) imports "
                                                                   "generator.render.template (render)"),
    ("base/errors.py", "from generator.model import config", "generator.base.errors (base) imports "
                                                             "generator.model.config (model)"),
    ("render/template.py", "    from generator.reconcile import desired",  # a lazy import counts too
     "generator.render.template (render) imports generator.reconcile.desired (reconcile)"),
    ("lint/runner.py", "import generator.findings.gate", "generator.lint.runner (lint) imports "
                                                          "generator.findings.gate (findings)"),
])
def test_an_import_against_the_direction_is_named(tmp_path: Path, module: str, line: str, expected: str) -> None:
    copy = tmp_path / "generator"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    body = target.read_text()
    target.write_text(body + ("\n\ndef _late() -> None:\n" + line + "\n" if line.startswith(" ") else "\n" + line + "\n"))
    assert expected in violations(copy)


def test_a_circle_inside_a_stage_is_named(tmp_path: Path) -> None:
    copy = tmp_path / "generator"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    policy = copy / "model" / "repository_policy.py"
    policy.write_text(policy.read_text() + "\nfrom generator.model import access\n")
    assert any(p.startswith("import circle:") and "generator.model.access" in p and
               "generator.model.repository_policy" in p for p in violations(copy))


def test_a_module_outside_the_stages_is_named(tmp_path: Path) -> None:
    copy = tmp_path / "generator"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "helpers.py").write_text("X = 1\n")
    assert "generator.helpers is in no stage package" in violations(copy)
