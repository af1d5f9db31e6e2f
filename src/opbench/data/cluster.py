"""Dask distributed clusters for the solver stage: local worker processes or SLURM jobs.

``data.cluster`` in the config picks the kind. ``local`` starts worker processes on this machine
(one per thread of the rule); ``slurm`` asks dask-jobqueue to submit ``jobs`` SLURM jobs whose
worker processes connect back to a scheduler in this process. The samples a worker solves do
not depend on where it runs, so either kind writes the same bytes as the threaded default.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

# Mirrors the defaults of data.cluster in workflow/schemas/config.schema.yaml, for direct calls.
DEFAULT_CLUSTER: dict[str, Any] = {
    "kind": "local",
    "jobs": 1,
    "cores": 1,
    "processes": 1,
    "memory": "4GB",
    "walltime": "01:00:00",
    "queue": None,
    "account": None,
    "job_extra_directives": [],
    "scheduler_host": None,
    "interface": None,
    "worker_timeout": 600,
    "log_directory": None,
    "job_name": "opbench-dask",
}


# glibc settings for the worker processes. distributed's nannies set MALLOC_TRIM_THRESHOLD_=65536
# so workers hand freed memory back to the OS at once; the solvers allocate and free FFT-sized
# buffers every step, so that turns into page faults and made a Burgers chunk ~2x slower than in
# the threaded scheduler. Large thresholds keep the buffers in the heap (chunks bound the memory).
WORKER_MALLOC_ENV = {"MALLOC_TRIM_THRESHOLD_": str(1 << 30), "MALLOC_MMAP_THRESHOLD_": str(1 << 25)}


def cluster_settings(cluster: Mapping[str, Any] | None) -> dict[str, Any]:
    """``cluster`` with the defaults filled in; one clear error for an unknown kind."""
    settings = {**DEFAULT_CLUSTER, **(cluster or {})}
    if settings["kind"] not in ("local", "slurm"):
        raise ValueError(f"data.cluster.kind: {settings['kind']!r} is not allowed (allowed: local, slurm)")
    return settings


def _slurm_cluster(s: Mapping[str, Any]) -> Any:
    """A dask-jobqueue SLURMCluster with ``s['jobs']`` jobs requested."""
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError as err:  # optional dependency: the `cluster` extra
        raise RuntimeError("data.cluster.kind: 'slurm' needs dask-jobqueue (pip install 'opbench[cluster]')") from err
    scheduler_options: dict[str, Any] = {"dashboard_address": None}
    if s["scheduler_host"]:
        scheduler_options["host"] = s["scheduler_host"]
    kwargs: dict[str, Any] = {
        "cores": s["cores"],
        "processes": s["processes"],
        "memory": s["memory"],
        "walltime": s["walltime"],
        "queue": s["queue"],
        "account": s["account"],
        "job_name": s["job_name"],
        "job_extra_directives": list(s["job_extra_directives"]),
        "log_directory": s["log_directory"],
        "scheduler_options": scheduler_options,
        # A worker that loses its scheduler (the run ended or failed) ends its SLURM job.
        "death_timeout": 60,
        # The nanny prefers these over its own MALLOC_TRIM_THRESHOLD_ when they are in its environment.
        "job_script_prologue": [f"export {k}={v}" for k, v in WORKER_MALLOC_ENV.items()],
    }
    if s["interface"]:
        kwargs["interface"] = s["interface"]
    cluster = SLURMCluster(**kwargs)
    cluster.scale(jobs=s["jobs"])
    return cluster


@contextmanager
def distributed_client(cluster: Mapping[str, Any] | None, workers: int) -> Iterator[Any]:
    """A connected ``distributed.Client`` with at least one worker; everything is shut down on exit.

    ``workers`` is the number of local worker processes (kind ``local``); a SLURM cluster has
    ``jobs * processes`` workers instead. Waits up to ``worker_timeout`` seconds for the first
    worker (SLURM jobs may queue), then starts: later workers join as their jobs start.
    """
    import dask
    from distributed import Client, LocalCluster

    s = cluster_settings(cluster)
    if s["kind"] == "local":
        environ = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_MALLOC_ENV.items()}
        with dask.config.set(environ):
            dask_cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                                        dashboard_address=None)
    else:
        dask_cluster = _slurm_cluster(s)
    with dask_cluster, Client(dask_cluster) as client:
        try:
            client.wait_for_workers(1, timeout=s["worker_timeout"])
        except TimeoutError as err:
            raise RuntimeError(
                f"data.cluster: no dask worker connected within worker_timeout={s['worker_timeout']} s "
                f"(kind {s['kind']}); check the SLURM queue and that workers can reach the scheduler "
                f"at {client.scheduler.address} (set data.cluster.scheduler_host or interface)"
            ) from err
        yield client


def worker_placement() -> dict[str, str | None]:
    """Where this worker runs: host name, SLURM job id (None outside SLURM), malloc settings. Runs on workers."""
    return {"host": socket.gethostname(), "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
            "malloc_trim_threshold": os.environ.get("MALLOC_TRIM_THRESHOLD_")}
