"""envs/*.yaml (for --software-deployment-method conda) stay consistent with constraints.txt and pyproject."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
ENV_FILES = sorted((ROOT / "envs").glob("*.yaml"))
# Extras whose packages the rules' jobs import too (data.cluster.kind: slurm needs dask-jobqueue).
JOB_EXTRAS = ("cluster",)
NON_PACKAGES = {"pip"}


def constraint_pins(text: str) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line of a constraints file."""
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def required_packages(pyproject: dict) -> set[str]:
    """Runtime dependencies plus the extras that jobs need, as canonical names."""
    project = pyproject["project"]
    reqs = list(project["dependencies"])
    for extra in JOB_EXTRAS:
        reqs += project["optional-dependencies"][extra]
    return {canonicalize_name(Requirement(r).name) for r in reqs}


def env_problems(env: dict, pins: dict[str, str], required: set[str], requires_python: str) -> list[str]:
    """Every way a conda environment disagrees with the pins and the requirements (empty: none)."""
    problems, present = [], set()
    for dep in env.get("dependencies", []):
        if isinstance(dep, dict):
            for spec in dep.get("pip", []):
                match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", spec.strip())
                if not match:
                    problems.append(f"pip entry {spec!r} is not pinned as name==version")
                    continue
                name, version = canonicalize_name(match.group(1)), match.group(2)
                present.add(name)
                if name not in pins:
                    problems.append(f"pip {name}=={version} is not in constraints.txt")
                elif pins[name] != version:
                    problems.append(f"pip {name}=={version} differs from constraints.txt {name}=={pins[name]}")
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(?:==?\s*(\S+))?", str(dep).strip())
        if not match:
            problems.append(f"conda entry {dep!r} is not name or name=version")
            continue
        name, version = canonicalize_name(match.group(1)), match.group(2) or ""
        present.add(name)
        if name == "python":
            if not version or version not in SpecifierSet(requires_python):
                problems.append(f"conda python={version} does not satisfy requires-python {requires_python}")
        elif name in pins and version and version != pins[name]:
            problems.append(f"conda {name}={version} differs from constraints.txt {name}=={pins[name]}")
    for name in sorted(required - present - NON_PACKAGES):
        problems.append(f"{name} (a dependency in pyproject.toml) is missing")
    return problems


@pytest.fixture(scope="module")
def project() -> tuple[dict[str, str], set[str], str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = constraint_pins((ROOT / "constraints.txt").read_text())
    return pins, required_packages(pyproject), pyproject["project"]["requires-python"]


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_env_pins_equal_constraints_and_cover_the_dependencies(env_file: Path, project) -> None:
    pins, required, requires_python = project
    env = yaml.safe_load(env_file.read_text())
    assert env_problems(env, pins, required, requires_python) == []


def test_the_check_catches_a_drifted_pin_a_loose_pin_and_a_missing_package(project) -> None:
    pins, required, requires_python = project
    env = yaml.safe_load((ROOT / "envs" / "opbench.yaml").read_text())
    pip = next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]
    pip[pip.index(f"numpy=={pins['numpy']}")] = "numpy==1.0.0"
    pip[:] = [p for p in pip if not p.lower().startswith("scipy==")] + ["tqdm>=4"]
    pip.remove(next(p for p in pip if p.lower().startswith("tqdm==")))
    env["dependencies"][0] = "python=3.9"
    problems = "\n".join(env_problems(env, pins, required, requires_python))
    assert "numpy==1.0.0 differs" in problems
    assert "scipy (a dependency in pyproject.toml) is missing" in problems
    assert "'tqdm>=4' is not pinned" in problems
    assert "python=3.9 does not satisfy" in problems


def test_every_rule_uses_an_env_file_that_exists() -> None:
    rules = list((ROOT / "workflow" / "rules").glob("*.smk"))
    used = {(rule.parent / path).resolve() for rule in rules
            for path in re.findall(r'conda:\s*\n\s*"([^"]+)"', rule.read_text())}
    assert used, "no rule declares a conda environment"
    assert used <= {p.resolve() for p in ENV_FILES}, used
    n_rules = sum(len(re.findall(r"^\s*rule(?:\s+\w+)?\s*:", r.read_text(), re.M)) for r in rules)
    n_conda = sum(len(re.findall(r"^\s*conda:", r.read_text(), re.M)) for r in rules)
    assert n_conda == n_rules, f"{n_rules} rules but {n_conda} conda: directives"
