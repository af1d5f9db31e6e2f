"""Generation on a dask distributed cluster (local processes or SLURM jobs) writes the threaded bytes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import yaml
from slurm_cluster import OneNodeSlurm

from opbench.config import ConfigError, validate_config
from opbench.data import generate as gen

SMOKE = Path(__file__).resolve().parents[1] / "configs" / "smoke.yaml"

BURGERS = {
    "type": "burgers",
    "params": {"nu": 0.1, "T": 0.2},
    "grf": {"alpha": 2.0, "tau": 5.0, "sigma": 25.0},
    "solver": {"dt": 2.0e-3, "dealias": True},
    "fine_res": 128,
    "ladder": [32, 128],
    "train_res": 32,
    "samples": {"train": 6, "val": 2, "test": 2},
}


def _generate(tmp: Path, tag: str, **kw) -> tuple[dict[int, str], dict]:
    outputs = {r: tmp / f"{tag}_s{r}.nc" for r in BURGERS["ladder"]}
    info = gen.generate_dataset(pde_name="burgers", cfg=BURGERS, split="train", seed=3, outputs=outputs,
                                chunk_size=2, check_samples=1, progress=False, **kw)
    digests = {r: hashlib.sha256(p.read_bytes()).hexdigest() for r, p in outputs.items()}
    return digests, info


def test_config_fills_cluster_defaults_and_refuses_slurm_without_distributed() -> None:
    cfg = yaml.safe_load(SMOKE.read_text())
    cluster = validate_config(cfg)["data"]["cluster"]
    assert cluster["kind"] == "local" and cluster["jobs"] == 1 and cluster["scheduler_host"] is None
    cfg["data"].update(scheduler="threads", cluster={"kind": "slurm"})
    with pytest.raises(ConfigError, match=r"data.cluster.kind: 'slurm' needs data.scheduler: distributed"):
        validate_config(cfg)
    cfg["data"].update(scheduler="distributed", cluster={"kind": "slurm", "walltime": "2h"})
    with pytest.raises(ConfigError, match=r"^data.cluster.walltime: "):
        validate_config(cfg)


@pytest.mark.slow
def test_local_distributed_cluster_of_two_workers_writes_the_threaded_bytes(tmp_path: Path) -> None:
    threaded, info = _generate(tmp_path, "threads", workers=1)
    assert info["chunk_placement"] == {}
    distributed, info = _generate(tmp_path, "dist", workers=2, scheduler="distributed", cluster={"kind": "local"})
    assert distributed == threaded
    assert sorted(info["chunk_placement"]) == [0, 1, 2]  # 6 samples in chunks of 2, each solved by a worker
    assert all(p["host"] and p["slurm_job_id"] is None for p in info["chunk_placement"].values())
    # workers keep freed FFT buffers instead of trimming the heap after each (see WORKER_MALLOC_ENV)
    assert {p["malloc_trim_threshold"] for p in info["chunk_placement"].values()} == {str(1 << 30)}


@pytest.mark.slow
@pytest.mark.slurm
def test_slurm_dask_cluster_writes_the_threaded_bytes(slurm: OneNodeSlurm, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # dask-jobqueue calls sbatch/scancel from this process: point them at the test cluster.
    for key in ("PATH", "SLURM_CONF"):
        monkeypatch.setenv(key, slurm.env[key])
    job_name = "opbench-dask-test"
    cluster = {
        "kind": "slurm", "jobs": 2, "cores": 1, "processes": 1, "memory": "1GB", "walltime": "00:10:00",
        # The one-node cluster's jobs run here: the workers reach the scheduler on localhost.
        "scheduler_host": "127.0.0.1", "worker_timeout": 120, "log_directory": str(tmp_path / "dask-logs"),
        "job_name": job_name,
    }
    threaded, _ = _generate(tmp_path, "threads", workers=1)
    on_slurm, info = _generate(tmp_path, "slurm", workers=1, scheduler="distributed", cluster=cluster)
    assert on_slurm == threaded

    # Every chunk was solved by a worker inside one of the SLURM jobs that dask-jobqueue submitted.
    listed = slurm.run("squeue", "-h", "--states=all", "-n", job_name, "-o", "%i").stdout.split()
    assert len(listed) == cluster["jobs"], listed
    solved_in = {p["slurm_job_id"] for p in info["chunk_placement"].values()}
    assert len(info["chunk_placement"]) == 3 and solved_in <= set(listed), (solved_in, listed)
    assert {p["malloc_trim_threshold"] for p in info["chunk_placement"].values()} == {str(1 << 30)}
    # The workers' jobs end with the cluster (scancel), none is left running.
    running = slurm.run("squeue", "-h", "-t", "PD,R", "-n", job_name, "-o", "%i").stdout.split()
    assert running == []
    assert os.listdir(tmp_path / "dask-logs")
