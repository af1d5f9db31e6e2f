"""configs/smoke.yaml through profiles/slurm on the real one-node SLURM: same outputs as a local run.

The SLURM run takes the smoke config's base pipeline (its 1D PDEs and their models: data, train,
infer, report); the claim and physics experiments use the same rule mechanics and would only
multiply the scheduler's polling time.

Proves that the repo's SLURM profile works end to end: every job Snakemake plans goes through
sbatch (its SLURM job id is in the Snakemake log and it left a SLURM log file), job status is
tracked with squeue alone (the test cluster has no accounting storage, so sacct cannot work),
and the data bytes and the metrics equal those of the local run in `smoke_run` (conftest.py).
The `slurm` fixture stops the daemons at the end of the session.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from slurm_cluster import OneNodeSlurm

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "configs" / "smoke.yaml"
PROFILE = ROOT / "profiles" / "slurm"
SPIED = ("sacct", "squeue")
# Columns of results/report/metrics.csv that measure time (they differ between any two runs).
TIMING_COLUMNS = {"train_seconds", "infer_seconds_per_sample"}

# What the test cluster needs on top of the profile, as a user on a small cluster would pass it.
CLUSTER_ARGS = [
    # No accounting storage: sacct fails, squeue works (MinJobAge=600 >= 3 x 1 s).
    "--slurm-status-command", "squeue",
    # The lowest the plugin allows: the first status check 1 s after a submission and after
    # every check that saw a job finish (it adds 10 s after each check that saw none).
    "--slurm-init-seconds-before-status-checks", "1",
    # The node has 2 CPUs and no GPU: these replace the profile's set-threads and set-resources
    # (its default-resources, retries, logdir etc. still apply).
    "--set-threads", "generate_heat=1", "generate_burgers=1",
    "--set-resources", "train:gpu=0", "infer_heat:gpu=0", "infer_burgers:gpu=0",
    "--jobs", "8",
    "--latency-wait", "5",
]


SLURM_PDES = ("heat", "burgers")


def _base_smoke_config(path: Path) -> Path:
    """configs/smoke.yaml without its experiment and physics sections, on its 1D PDEs only."""
    cfg = yaml.safe_load(SMOKE.read_text())
    cfg.pop("experiments", None)
    cfg.pop("physics", None)
    cfg["pdes"] = {name: cfg["pdes"][name] for name in SLURM_PDES}
    used = {m for p in cfg["pdes"].values() for m in p.get("models", cfg["models"])}
    cfg["models"] = {name: spec for name, spec in cfg["models"].items() if name in used}
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _snakemake(workdir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    config = _base_smoke_config(workdir.parent / "slurm_smoke.yaml")
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(config), "--workflow-profile", str(PROFILE), *CLUSTER_ARGS, *args]
    return subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=900)


def _spy_env(cluster: OneNodeSlurm, spy_dir: Path) -> dict[str, str]:
    """The cluster's environment with sacct and squeue wrapped to record every call's arguments."""
    spy_dir.mkdir()
    for name in SPIED:
        wrapper = spy_dir / name
        wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{spy_dir / name}.calls"\nexec "{cluster.bin_dir / name}" "$@"\n')
        wrapper.chmod(0o755)
    env = dict(cluster.env)
    env["PATH"] = f"{spy_dir}:{env['PATH']}"
    return env


def _calls(spy_dir: Path, name: str) -> list[str]:
    path = spy_dir / f"{name}.calls"
    return path.read_text().splitlines() if path.exists() else []


def _job_table(dry_log: str) -> dict[str, int]:
    """Jobs per rule in a dry run's job table."""
    table = re.search(r"Job stats:\n(.*?)\ntotal\s+\d+", dry_log, re.S)
    assert table, dry_log
    counts = {}
    for line in table.group(1).splitlines()[2:]:
        rule, count = line.split()
        counts[rule] = int(count)
    return counts


def _planned_mem(dry_log: str) -> dict[str, set[int]]:
    """The mem_mb values the dry run printed for the jobs of each rule."""
    out: dict[str, set[int]] = {}
    rule = ""
    for line in dry_log.splitlines():
        if m := re.match(r"^(?:local)?rule (\w+):", line):
            rule = m.group(1)
        elif m := re.search(r"resources: .*\bmem_mb=(\d+)", line):
            out.setdefault(rule, set()).add(int(m.group(1)))
    return out


def _job_field(cluster: OneNodeSlurm, job_id: str, field: str) -> str:
    """One ``Key=Value`` field of ``scontrol show job``."""
    out = cluster.run("scontrol", "show", "job", job_id).stdout
    match = re.search(rf"\b{field}=(\S*)", out)
    assert match, f"{field} not in scontrol output:\n{out}"
    return match.group(1)


def _data_files(workdir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(workdir)): p.read_bytes() for pde in SLURM_PDES
            for p in sorted(workdir.glob(f"results/data/{pde}/*.nc"))}


def test_smoke_workflow_on_slurm_equals_the_local_run(slurm: OneNodeSlurm, smoke_run: Path,
                                                      tmp_path: Path) -> None:
    workdir = tmp_path / "run"
    workdir.mkdir()
    spy_dir = tmp_path / "spy"
    env = _spy_env(slurm, spy_dir)

    dry = _snakemake(workdir, env, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    table = _job_table(dry.stdout + dry.stderr)
    planned_mem = _planned_mem(dry.stdout + dry.stderr)

    start = time.perf_counter()
    res = _snakemake(workdir, env)
    wall = time.perf_counter() - start
    log = res.stdout + res.stderr
    assert res.returncode == 0, f"snakemake failed:\n{log[-6000:]}\n{slurm.log_tail()}"

    # Every planned job went through sbatch, once, and SLURM saw it through to COMPLETED; only
    # the rules Snakemake runs itself ("localrule", here just the target rule `all`) did not.
    local_rules = set(re.findall(r"^localrule (\w+):", log, re.M))
    assert local_rules == {"all"}, local_rules
    planned = {rule: n for rule, n in table.items() if rule not in local_rules}
    submitted = re.findall(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: (\S+)\)", log)
    job_ids = [job_id for job_id, _ in submitted]
    n_planned = sum(planned.values())
    print(f"\nSLURM smoke run: {len(job_ids)} SLURM jobs ({n_planned} planned) in {wall:.1f} s wall time")
    assert len(job_ids) == len(set(job_ids)) == n_planned, (planned, log)
    logfile = max((workdir / ".snakemake" / "log").glob("*.snakemake.log"), key=lambda p: p.stat().st_mtime)
    assert sorted(re.findall(r"submitted with SLURM jobid (\d+)", logfile.read_text())) == sorted(job_ids)
    per_rule: dict[str, int] = {}
    for job_id, slurm_log in submitted:
        rule = re.search(r"/rule_(\w+?)/", slurm_log)
        assert rule, slurm_log
        per_rule[rule.group(1)] = per_rule.get(rule.group(1), 0) + 1
        assert Path(slurm_log).is_file(), f"no SLURM log of job {job_id}"
        state = slurm.run("squeue", "-h", "--states=all", "-j", job_id, "-o", "%T").stdout.strip()
        assert state == "COMPLETED", (job_id, state)
        # The profile's default-resources reached sbatch: runtime "2h" -> -t, mem_mb -> --mem (the
        # data, train and infer rules compute their own, shown by the dry run);
        # threads (set-threads generate_*=1, 1 for the other rules) -> --cpus-per-task.
        assert _job_field(slurm, job_id, "TimeLimit") == "02:00:00"
        mem = _job_field(slurm, job_id, "MinMemoryNode")
        computed = rule.group(1).startswith(("generate_", "infer_")) or rule.group(1) == "train"
        assert mem in ({f"{m}M" for m in planned_mem[rule.group(1)]} if computed else {"4000M"}), (rule, mem)
        assert _job_field(slurm, job_id, "NumCPUs") == "1"
    assert per_rule == planned
    assert (workdir / "logs" / "slurm").is_dir(), "slurm-logdir from the profile not used"

    # Status checks used squeue (by the run's SLURM job name) and never sacct, which cannot
    # work on a cluster without accounting storage.
    run_id = re.search(r"SLURM run ID: (\S+)", log)
    assert run_id, log
    assert any(f"--name {run_id.group(1)}" in c for c in _calls(spy_dir, "squeue")), _calls(spy_dir, "squeue")
    assert not [c for c in _calls(spy_dir, "sacct") if "--name" in c], _calls(spy_dir, "sacct")
    assert "Falling back to 'sacct'" not in log
    assert slurm.run("sacct", check=False).returncode != 0, "the test cluster unexpectedly has accounting"

    # Same data bytes and the same metrics as the local run.
    local, remote = _data_files(smoke_run), _data_files(workdir)
    assert sorted(remote) == sorted(local) and local
    assert [name for name in local if local[name] != remote[name]] == []
    a = pd.read_csv(smoke_run / "results/report/metrics.csv")
    a = a[a.pde.isin(SLURM_PDES)].dropna(axis=1, how="all")  # rollout-only columns of the 2D rows
    b = pd.read_csv(workdir / "results/report/metrics.csv")
    assert list(a.columns) == list(b.columns)
    keys = ["pde", "model", "seed", "eval_res"]
    a, b = a.sort_values(keys).reset_index(drop=True), b.sort_values(keys).reset_index(drop=True)
    rel_l2 = [c for c in a.columns if c.startswith("rel_l2")]
    assert rel_l2
    exact = [c for c in a.columns if c not in TIMING_COLUMNS and c not in rel_l2]
    pd.testing.assert_frame_equal(a[exact], b[exact])
    pd.testing.assert_frame_equal(a[rel_l2], b[rel_l2], check_exact=False, rtol=1e-5, atol=1e-7)
    assert (workdir / "results/report/index.html").is_file()
