"""The one-node SLURM of the `slurm` fixture runs jobs; the profile declares what the workflow needs.

tests/test_slurm_workflow.py runs the smoke workflow through profiles/slurm on it.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import yaml
from slurm_cluster import OneNodeSlurm

pytestmark = pytest.mark.slurm

REPO = Path(__file__).resolve().parents[1]
SLURM_PROFILE = REPO / "profiles" / "slurm"


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
    for rule in ("train", "infer_heat", "infer_burgers"):
        assert profile["set-resources"][rule]["gpu"] == 1
        assert "cpus_per_task" not in profile["set-resources"][rule]
    assert "cpus_per_task" not in profile["default-resources"]
    assert {"generate_heat", "generate_burgers"} <= set(profile["set-threads"])
