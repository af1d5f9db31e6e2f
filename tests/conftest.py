"""Shared pytest fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from slurm_cluster import OneNodeSlurm, slurm_available

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "configs" / "smoke.yaml"


@pytest.fixture(scope="session")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OneNodeSlurm]:
    """A running one-node SLURM cluster, stopped at the end of the session.

    Skipped where SLURM is missing or we are not root, except on CI (CI=true), where
    .ci/install_slurm.sh has installed it and a missing SLURM is a failure.
    """
    ok, reason = slurm_available()
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but no usable SLURM: {reason}")
        pytest.skip(reason)
    with OneNodeSlurm(tmp_path_factory.mktemp("slurm")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local Snakemake run of configs/smoke.yaml (2 cores), shared by every test of the session.

    tests/test_workflow.py checks what it wrote; tests/test_slurm_workflow.py compares a SLURM
    run against it.
    """
    workdir = tmp_path_factory.mktemp("smoke")
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(SMOKE), "--cores", "2"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return workdir


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """The machines running the suite have 2 cores shared by everything: one intra-op thread keeps
    the torch tests fast and their timings stable (workflow tests set their own threads)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
