"""The script adapter (opbench.script): every workflow script goes through it, a script runs outside
Snakemake as the job Snakemake would run, an opbench error is one line in the job's log, and rules
take as params only what their job reads (so an unrelated config edit reruns nothing)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import xarray as xr
import yaml
from conftest import ROOT, SMOKE

from opbench.script import make_job, snakemake_workflow

SCRIPTS = sorted((ROOT / "workflow" / "scripts").glob("*.py"))
SNAKEFILE = ROOT / "Snakefile"


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and (getattr(n.func, "id", None) == name or getattr(n.func, "attr", None) == name)]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_every_script_goes_through_the_adapter(script: Path) -> None:
    """Its first statement after the imports is ``sm = start_job(...)``; it never reads the injected
    ``snakemake`` nor sets stderr, error hooks or torch threads itself."""
    tree = ast.parse(script.read_text())
    body = [s for s in tree.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    imports = (ast.Import, ast.ImportFrom)
    first = next(s for s in body if not isinstance(s, imports))
    assert isinstance(first, ast.Assign) and isinstance(first.value, ast.Call), f"{script.name}: {ast.unparse(first)}"
    assert getattr(first.value.func, "id", None) == "start_job", f"{script.name} starts with {ast.unparse(first)}"
    assert [t.id for t in first.targets if isinstance(t, ast.Name)] == ["sm"]
    assert any(isinstance(s, ast.ImportFrom) and s.module == "opbench.script" for s in body)
    assert len(_calls(tree, "start_job")) == 1
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert "snakemake" not in names, f"{script.name} reads the injected snakemake object"
    stderr_set = [n for n in ast.walk(tree) if isinstance(n, ast.Assign) for t in n.targets
                  if isinstance(t, ast.Attribute) and t.attr in ("stderr", "excepthook")]
    assert not stderr_set, f"{script.name} sets sys.{stderr_set[0].targets[0].attr} itself"
    for own in ("one_line_errors", "set_num_threads", "use_deterministic_algorithms", "start_torch_job"):
        assert not _calls(tree, own), f"{script.name} calls {own} itself"


def test_every_rule_script_is_checked(tmp_path: Path) -> None:
    """The rules' scripts are the files the test above reads (none outside workflow/scripts)."""
    with snakemake_workflow(SNAKEFILE, [SMOKE], workdir=tmp_path) as workflow:
        used = {(Path(r.snakefile).parent / r.script).resolve() for r in workflow.rules if r.script}
    assert used and used <= {p.resolve() for p in SCRIPTS}


def _run_script(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}  # the adapter sets them itself
    cmd = [sys.executable, str(ROOT / "workflow" / "scripts" / name), "--configfile", str(SMOKE), *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_script_runs_outside_snakemake_as_the_rule_runs_it(tmp_path: Path) -> None:
    """generate_data from the command line writes the same NetCDF files as Snakemake's job."""
    alone, workflow_dir = tmp_path / "alone", tmp_path / "snakemake"
    alone.mkdir()
    proc = _run_script("generate_data.py", "pde=heat", "split=test", cwd=alone)
    assert proc.returncode == 0, proc.stderr[-3000:]
    cmd = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--directory", str(workflow_dir),
           "--configfile", str(SMOKE), "--cores", "1", *(f"results/data/heat/test_s{r}.nc" for r in (16, 32, 64))]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for res in (16, 32, 64):
        rel = f"results/data/heat/test_s{res}.nc"
        with xr.open_dataset(alone / rel) as a, xr.open_dataset(workflow_dir / rel) as b:
            assert a.attrs["pde"] == "heat" and a.attrs["split"] == "test" and a.sizes["sample"] == 4
            assert a["u"].shape[-1] == res and bool(a["u"].notnull().all())
            xr.testing.assert_identical(a.load(), b.load())
    log = (alone / "logs" / "generate" / "heat_test.log").read_text()
    assert '"n_samples": 4' in log  # the job's report went to its own log


def test_an_output_file_names_the_job_and_a_bad_job_is_one_line(tmp_path: Path) -> None:
    """An output path selects the job; wildcards that fit no rule give one line naming the rules."""
    proc = _run_script("generate_data.py", "results/data/heat/val_s16.nc", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "results/data/heat").iterdir()) == [
        "val_s16.nc", "val_s32.nc", "val_s64.nc"]
    proc = _run_script("train_model.py", "pde=heat", cwd=tmp_path)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("opbench error: ") and "repro_train" in lines[0], proc.stderr


def test_wildcards_outside_the_rules_constraints_are_one_line_before_any_compute(tmp_path: Path) -> None:
    """A value the rule's file pattern takes but its wildcard constraints refuse (a job Snakemake never
    runs) is refused by name, not run into a KeyError deep in the data code."""
    proc = _run_script("generate_data.py", "pde=heat", "split=bogus", cwd=tmp_path)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("opbench error: "), proc.stderr
    assert "split" in lines[0] and "train|val|test" in lines[0]
    assert not (tmp_path / "results").exists() and not (tmp_path / "logs").exists()


def test_bad_script_input_is_one_line_in_the_log(tmp_path: Path) -> None:
    """physics_diffusion (which did not install the one-line hook before the adapter) on an unreadable
    input file: its log holds one line naming the file, not a traceback."""
    data = tmp_path / "results" / "data" / "navier_stokes"
    data.mkdir(parents=True)
    for split in ("train", "test"):
        (data / f"{split}_s16.nc").write_bytes(b"not a netcdf file\n" * 8)
    proc = _run_script("physics_diffusion.py", cwd=tmp_path)
    assert proc.returncode == 1
    log = (tmp_path / "logs" / "physics_diffusion" / "all.log").read_text().strip().splitlines()
    assert len(log) == 1, log
    assert log[0].startswith("opbench error: ") and "train_s16.nc" in log[0]
    assert "Traceback" not in proc.stderr


def _edited_smoke(tmp_path: Path, name: str, edit: Any) -> Path:
    cfg = yaml.safe_load(SMOKE.read_text())
    edit(cfg)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _params(configfile: Path, jobs: Mapping[str, dict[str, str]], workdir: Path) -> dict[str, list[Any]]:
    """Per rule, the params Snakemake records and compares for its rerun trigger."""
    with snakemake_workflow(SNAKEFILE, [configfile], workdir=workdir) as workflow:
        return {rule: workflow.persistence._params(make_job(workflow, rule, wc)) for rule, wc in jobs.items()}


def _set(path: str, value: Any) -> Any:
    def edit(cfg: dict) -> None:
        *head, last = path.split(".")
        for key in head:
            cfg = cfg[key]
        cfg[last] = value
    return edit


JOBS = {
    "physics_report": {},
    "physics_hamiltonian_data": {"system": "pendulum"},
    "physics_hnn": {"system": "pendulum"},
    "train": {"pde": "heat", "model": "fno", "seed": "0"},
    "physics_pinn": {"pde": "heat"},
    "exp_pde_sets": {},
}


def test_params_change_only_with_what_the_job_reads(tmp_path: Path) -> None:
    """An unrelated config edit leaves physics_report's params (what Snakemake's params trigger
    compares) unchanged; an HNN training edit leaves the Hamiltonian data job's unchanged. The same
    comparison sees the edits in the jobs that do read them."""
    base = _params(SMOKE, JOBS, tmp_path)
    title_lr = _edited_smoke(tmp_path, "title_lr", lambda c: (_set("title", "another title")(c),
                                                              _set("training.lr", 5.0e-4)(c)))
    changed = _params(title_lr, JOBS, tmp_path)
    assert changed["physics_report"] == base["physics_report"]
    assert changed["train"] != base["train"]  # the comparison sees a change where the job reads it
    hnn_training = _params(_edited_smoke(tmp_path, "hnn", _set("physics.hnn.train_steps", 41)), JOBS, tmp_path)
    assert hnn_training["physics_report"] == base["physics_report"]
    assert hnn_training["physics_hamiltonian_data"] == base["physics_hamiltonian_data"]
    assert hnn_training["physics_hnn"] != base["physics_hnn"]
    hnn_data = _params(_edited_smoke(tmp_path, "hnn_data", _set("physics.hnn.substeps", 5)), JOBS, tmp_path)
    assert hnn_data["physics_hamiltonian_data"] != base["physics_hamiltonian_data"]
    # a model added to a PDE trains and evaluates on its own: the PDE's other runs keep their params
    more_models = _params(_edited_smoke(tmp_path, "models", _set("pdes.heat.models", ["fno", "transformer", "mlp",
                                                                                       "unet"])), JOBS, tmp_path)
    assert more_models["train"] == base["train"]
    assert more_models["physics_pinn"] == base["physics_pinn"]
    assert more_models["exp_pde_sets"] == base["exp_pde_sets"]
    # a PDE or system added to a physics experiment runs on its own: the others keep their params
    fewer = _params(_edited_smoke(tmp_path, "fewer", lambda c: (_set("physics.pinn.pdes", ["heat"])(c),
                                                                _set("physics.hnn.systems", ["pendulum"])(c))),
                    JOBS, tmp_path)
    assert fewer["physics_pinn"] == base["physics_pinn"] and fewer["physics_hnn"] == base["physics_hnn"]
    solver = _params(_edited_smoke(tmp_path, "solver", _set("pdes.heat.params.alpha", 0.02)), JOBS, tmp_path)
    assert solver["physics_pinn"] != base["physics_pinn"] and solver["exp_pde_sets"] != base["exp_pde_sets"]


class _Recording(Mapping):
    """A mapping that remembers which keys were read."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data, self.read = dict(data), set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return self.data.get(key, default)

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("iterating the settings reads every key")

    def __len__(self) -> int:
        return len(self.data)


def test_hamiltonian_data_reads_only_its_params(tmp_path: Path) -> None:
    """The data rule's settings hold every physics.hnn key the data generation reads."""
    from opbench.physics.hnn_bench import hamiltonian_dataset

    with snakemake_workflow(SNAKEFILE, [SMOKE], workdir=tmp_path) as workflow:
        job = make_job(workflow, "physics_hamiltonian_data", {"system": "pendulum"})
        given, everything, seed = dict(job.params.settings), workflow.config["physics"]["hnn"], job.params.seed
    assert set(given) < set(everything)  # the models and their training are left out
    for split in ("train", "test"):
        settings = _Recording(everything)
        hamiltonian_dataset("pendulum", split, settings, seed)
        assert settings.read <= set(given), settings.read - set(given)


START = """
import sys, types, __main__
__main__.snakemake = types.SimpleNamespace(log=[sys.argv[1]], threads=1)
from opbench.script import start_job
assert "torch" not in sys.modules  # importing the adapter imports no torch
sm = start_job(torch={torch})
print("torch" in sys.modules, file=sys.__stdout__)
if "torch" in sys.modules:
    import torch
    print(torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(), file=sys.__stdout__)
print("to the log", file=sys.stderr)
"""


@pytest.mark.parametrize("use_torch", [None, True])
def test_start_job_sets_torch_only_for_torch_jobs(tmp_path: Path, use_torch: bool | None) -> None:
    """Under Snakemake (an injected object): stderr goes to the log; torch is configured (one thread
    here, deterministic kernels) when the job uses it and not even imported when it does not."""
    log = tmp_path / "job.log"
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    proc = subprocess.run([sys.executable, "-c", START.format(torch=use_torch), str(log)], capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.split()
    if use_torch:
        assert out == ["True", "1", "True"]
    else:
        assert out == ["False"]
    assert log.read_text() == "to the log\n" and "to the log" not in proc.stderr
