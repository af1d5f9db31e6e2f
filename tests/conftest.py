"""Shared pytest fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from slurm_cluster import OneNodeSlurm, slurm_available


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
