"""Import rules between packages, read from the source with ``ast`` (function-local imports included).

``opbench.report`` and ``opbench.experiments`` never import each other, in either direction: what they
share (plotting, the t-interval, number formatting, the templates) lives below both, in
``opbench.plotting``, ``opbench.intervals`` and ``opbench.render``, which import neither.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
# package (or module) -> packages it must not import
FORBIDDEN = {
    "opbench.report": ("opbench.experiments",),
    "opbench.experiments": ("opbench.report",),
    "opbench.render": ("opbench.experiments", "opbench.report"),
    "opbench.plotting": ("opbench.experiments", "opbench.report"),
    "opbench.intervals": ("opbench.experiments", "opbench.report"),
}


def module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module ``source`` (the text of ``module``) imports, anywhere in it; relative imports resolved."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from opbench import report`
    return found


def violations(src: Path = SRC) -> list[str]:
    """'module imports target' for every import that ``FORBIDDEN`` rules out."""
    out = []
    for path in sorted(src.rglob("*.py")):
        module = module_name(path, src)
        for owner, banned in FORBIDDEN.items():
            if module != owner and not module.startswith(owner + "."):
                continue
            for target in imported_modules(path.read_text(encoding="utf-8"), module, path.name == "__init__.py"):
                if any(target == b or target.startswith(b + ".") for b in banned):
                    out.append(f"{module} imports {target}")
    return sorted(out)


def test_report_and_experiments_do_not_import_each_other() -> None:
    assert (SRC / "opbench" / "report").is_dir() and (SRC / "opbench" / "experiments").is_dir()
    assert violations() == []


@pytest.mark.parametrize("where, line", [
    ("report/build.py", "def f():\n    from opbench.experiments.claim_results import compute_claims\n"),
    ("report/physics.py", "import opbench.experiments.stats as s\n"),
    ("report/build.py", "from opbench import experiments\n"),
    ("experiments/claims.py", "from ..report import figures\n"),
    ("experiments/claims.py", "from opbench.report.figures import plot_examples\n"),
    ("render/html.py", "from opbench.report import build\n"),
])
def test_the_check_catches_an_import_across_the_line(tmp_path: Path, where: str, line: str) -> None:
    """A copy of the package with one forbidden import added anywhere fails the check."""
    for rel in ("report/build.py", "report/physics.py", "experiments/claims.py", "render/html.py"):
        target = tmp_path / "opbench" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("import math\n", encoding="utf-8")
    path = tmp_path / "opbench" / where
    path.write_text(path.read_text() + line, encoding="utf-8")
    found = violations(tmp_path)
    assert found and all(f.startswith(f"{module_name(path, tmp_path)} imports ") for f in found), found
