"""The one-node SLURM of the `slurm` fixture runs jobs, and Snakemake drives it via profiles/slurm."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from slurm_cluster import OneNodeSlurm

pytestmark = pytest.mark.slurm

REPO = Path(__file__).resolve().parents[1]
SLURM_PROFILE = REPO / "profiles" / "slurm"
SNAKEMAKE = Path(sys.executable).with_name("snakemake")

# Same rule names as the real workflow, so the repo profile's per-rule entries apply.
TOY_SNAKEFILE = """
rule all:
    input:
        "results/prediction.txt",


rule generate_heat:
    output:
        "data/heat.txt",
    shell:
        "echo heat $SLURM_JOB_ID > {output}"


rule generate_burgers:
    output:
        "data/burgers.txt",
    shell:
        "echo burgers $SLURM_JOB_ID > {output}"


rule train:
    input:
        "data/heat.txt",
        "data/burgers.txt",
    output:
        "model/weights.txt",
    shell:
        "cat {input} > {output} && echo train $SLURM_JOB_ID >> {output}"


rule infer:
    input:
        "model/weights.txt",
    output:
        "results/prediction.txt",
    shell:
        "cat {input} > {output} && echo infer $SLURM_JOB_ID >> {output}"
"""


def _job_field(cluster: OneNodeSlurm, job_id: str, field: str) -> str:
    """One ``Key=Value`` field of ``scontrol show job``."""
    out = cluster.run("scontrol", "show", "job", job_id).stdout
    match = re.search(rf"\b{field}=(\S*)", out)
    assert match, f"{field} not in scontrol output:\n{out}"
    return match.group(1)


def _wait_state(cluster: OneNodeSlurm, job_id: str, state: str, timeout: float = 60.0) -> None:
    """Poll scontrol until the job reaches ``state``."""
    deadline = time.monotonic() + timeout
    current = ""
    while time.monotonic() < deadline:
        current = _job_field(cluster, job_id, "JobState")
        if current == state:
            return
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} is {current}, not {state}, after {timeout} s")


def test_sbatch_wait_writes_output(slurm: OneNodeSlurm, tmp_path: Path) -> None:
    script = tmp_path / "job.sh"
    script.write_text('#!/bin/bash\necho "job $SLURM_JOB_ID ran" > result.txt\n')
    res = slurm.run(
        "sbatch", "--wait", "--parsable", "-D", str(tmp_path), "-o", str(tmp_path / "slurm-%j.out"),
        str(script),
    )
    job_id = res.stdout.strip().split(";")[0]
    assert job_id.isdigit(), res.stdout
    assert (tmp_path / "result.txt").read_text() == f"job {job_id} ran\n"
    assert _job_field(slurm, job_id, "JobState") == "COMPLETED"


def test_squeue_and_scontrol_follow_a_job(slurm: OneNodeSlurm, tmp_path: Path) -> None:
    res = slurm.run("sbatch", "--parsable", "-D", str(tmp_path), "-o", "/dev/null", "--wrap", "sleep 2")
    job_id = res.stdout.strip()
    queued = slurm.run("squeue", "-h", "-j", job_id, "-o", "%i|%T|%P").stdout.strip()
    assert queued.split("|")[0] == job_id
    assert queued.split("|")[1] in {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "COMPLETED"}
    assert queued.split("|")[2] == slurm.partition
    _wait_state(slurm, job_id, "COMPLETED")
    # MinJobAge keeps finished jobs in squeue: the plugin's squeue status command relies on it.
    done = slurm.run("squeue", "-h", "--states=all", "-j", job_id, "-o", "%i|%T").stdout.strip()
    assert done == f"{job_id}|COMPLETED"


def test_repo_profile_declares_what_the_workflow_needs() -> None:
    profile = yaml.safe_load((SLURM_PROFILE / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    assert {"runtime", "mem_mb"} <= set(profile["default-resources"])
    for rule in ("train", "infer"):
        assert profile["set-resources"][rule]["gpu"] == 1
        assert "cpus_per_task" not in profile["set-resources"][rule]
    assert "cpus_per_task" not in profile["default-resources"]
    assert {"generate_heat", "generate_burgers"} <= set(profile["set-threads"])


def test_snakemake_runs_toy_workflow_through_repo_profile(slurm: OneNodeSlurm, tmp_path: Path) -> None:
    (tmp_path / "Snakefile").write_text(TOY_SNAKEFILE)
    cmd = [
        str(SNAKEMAKE),
        "--snakefile", str(tmp_path / "Snakefile"),
        "--directory", str(tmp_path),
        "--workflow-profile", str(SLURM_PROFILE),
        "--executor", "slurm",
        "--jobs", "2",
        # No accounting storage on the test cluster: sacct fails, squeue works (MinJobAge=600).
        "--slurm-status-command", "squeue",
        "--slurm-init-seconds-before-status-checks", "2",
        # The test node has 2 CPUs and no GPU: these replace the profile's set-threads and
        # set-resources (the profile's default-resources still apply).
        "--set-threads", "generate_heat=1", "generate_burgers=1",
        "--set-resources", "train:gpu=0", "infer:gpu=0",
        "--latency-wait", "5",
    ]
    res = subprocess.run(cmd, cwd=tmp_path, env=slurm.env, capture_output=True, text=True, timeout=600)
    log = res.stdout + res.stderr
    assert res.returncode == 0, f"snakemake failed:\n{log}\n{slurm.log_tail()}"

    submitted = re.findall(r"submitted with SLURM jobid (\d+)", log)
    assert len(submitted) == 4, log
    logfiles = sorted((tmp_path / ".snakemake" / "log").glob("*.snakemake.log"))
    assert logfiles, "no Snakemake log file"
    assert set(re.findall(r"submitted with SLURM jobid (\d+)", logfiles[-1].read_text())) == set(submitted)

    ran_in = {}
    for line in (tmp_path / "results" / "prediction.txt").read_text().splitlines():
        step, job_id = line.split()
        ran_in[step] = job_id
    assert set(ran_in) == {"heat", "burgers", "train", "infer"}
    assert set(ran_in.values()) == set(submitted)

    for job_id in submitted:
        assert _job_field(slurm, job_id, "JobState") == "COMPLETED"
        # The profile's default-resources reached sbatch: runtime "2h" -> -t, mem_mb -> --mem.
        assert _job_field(slurm, job_id, "TimeLimit") == "02:00:00"
        assert _job_field(slurm, job_id, "MinMemoryNode") == "4000M"
    assert _job_field(slurm, ran_in["heat"], "NumCPUs") == "1"
    assert (tmp_path / "logs" / "slurm").is_dir(), "slurm-logdir from the profile not used"
