"""Declared memory (`resources: mem_mb`) follows the config: sizes, chunks and workers, not sample counts."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from opbench import memory

ROOT = Path(__file__).resolve().parents[1]
BURGERS = {"type": "burgers", "params": {"nu": 0.1, "T": 1.0}, "fine_res": 8192, "ladder": [256, 1024, 8192],
           "train_res": 1024, "samples": {"train": 1000, "val": 100, "test": 200}}
NS = {"type": "navier_stokes", "params": {"T": 30.0, "snapshot_dt": 1.0}, "fine_res": 256, "ladder": [64, 128, 256],
      "train_res": 64, "history": 10, "samples": {"train": 10000, "val": 100, "test": 200}}
DATA = {"chunk_size": 50, "dtype": "float32", "scheduler": "processes", "memory_budget_mb": 2048}
FNO = {"type": "fno", "modes": 12, "width": 20, "layers": 4}


def _scaled(cfg: dict, **changes) -> dict:
    out = copy.deepcopy(cfg)
    out.update(changes)
    return out


def test_data_jobs_grow_with_chunk_grid_and_workers_but_not_with_samples() -> None:
    base = memory.generate_mem_mb(BURGERS, DATA, 4)
    assert memory.generate_mem_mb(BURGERS, {**DATA, "chunk_size": 100}, 4) > base  # a chunk twice as large
    assert memory.generate_mem_mb(_scaled(BURGERS, fine_res=16384, ladder=[256, 1024, 16384]), DATA, 4) > base
    assert memory.generate_mem_mb(BURGERS, DATA, 8) > base
    more = _scaled(BURGERS, samples={"train": 16000, "val": 100, "test": 200})
    assert memory.generate_mem_mb(more, DATA, 4) == base  # streamed: 16x the samples, same memory
    # Time-dependent data: every snapshot counts.
    assert memory.generate_mem_mb(_scaled(NS, params={"T": 60.0, "snapshot_dt": 1.0}), DATA, 4) > \
        memory.generate_mem_mb(NS, DATA, 4)


def test_train_and_infer_jobs_grow_with_the_split_until_the_budget() -> None:
    small = _scaled(BURGERS, samples={"train": 1000, "val": 100, "test": 200})
    large = _scaled(BURGERS, samples={"train": 2000, "val": 200, "test": 400})  # a config twice as large
    recipe = {"batch_size": 20}
    assert memory.train_mem_mb(large, FNO, recipe, DATA) > memory.train_mem_mb(small, FNO, recipe, DATA)
    assert memory.infer_mem_mb(large, FNO, DATA) > memory.infer_mem_mb(small, FNO, DATA)
    assert memory.train_mem_mb(small, FNO, {"batch_size": 40}, DATA) > memory.train_mem_mb(small, FNO, recipe, DATA)
    # Over the budget the split is read lazily: the request stops growing with it.
    huge = _scaled(NS, samples={"train": 10000, "val": 100, "test": 200})
    huger = _scaled(NS, samples={"train": 20000, "val": 100, "test": 200})
    assert memory.split_mb(huge, "train") > DATA["memory_budget_mb"]
    assert memory.train_mem_mb(huger, FNO, recipe, DATA) == memory.train_mem_mb(huge, FNO, recipe, DATA)
    assert memory.train_mem_mb(huge, FNO, recipe, {**DATA, "memory_budget_mb": 4096}) > \
        memory.train_mem_mb(huge, FNO, recipe, DATA)


def test_rollout_windows_count_in_the_split_size() -> None:
    # 10 snapshots in, 20 windows of 11 snapshots each per trajectory, plus the file's 30 + 1 fields.
    per_traj = (31 + 20 * 11) * 64 * 64 * 4 / 2**20
    assert memory.split_mb(NS, "val") == pytest.approx(100 * per_traj)


def _dry_run_mem(tmp_path: Path, cfg: dict, tag: str) -> dict[str, set[int]]:
    """mem_mb printed by a dry run, per rule and per ``rule:pde`` (from the jobs' wildcards)."""
    path = tmp_path / f"{tag}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-s", str(ROOT / "Snakefile"), "--cores", "4",
                           "--directory", str(tmp_path / tag), "--configfile", str(path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out: dict[str, set[int]] = {}
    rule, pde = "", ""
    for line in (proc.stdout + proc.stderr).splitlines():
        if m := re.match(r"^(?:local)?rule (\w+):", line):
            rule, pde = m.group(1), ""
        elif m := re.search(r"wildcards: .*\bpde=(\w+)", line):
            pde = m.group(1)
        elif m := re.search(r"resources: .*\bmem_mb=(\d+)", line):
            out.setdefault(rule, set()).add(int(m.group(1)))
            if pde:
                out.setdefault(f"{rule}:{pde}", set()).add(int(m.group(1)))
    return out


def test_dry_run_of_the_paper_preset_shows_every_jobs_memory(tmp_path: Path) -> None:
    paper = yaml.safe_load((ROOT / "configs" / "paper.yaml").read_text())
    base = _dry_run_mem(tmp_path, paper, "paper")
    # Every data, train and infer job declares memory, and the NS nu = 1e-4 ones fit a 16 GB request.
    for rule in ("generate_ns_nu1e4", "generate_burgers", "train", "infer_burgers", "infer_ns_nu1e4"):
        assert base.get(rule), (rule, base)
    assert max(base["generate_ns_nu1e4"]) <= 16000
    assert base["train:ns_nu1e4"]
    assert max(base["train:ns_nu1e4"] | base["infer_ns_nu1e4"]) <= 16000
    doubled = copy.deepcopy(paper)
    doubled["data"]["chunk_size"] *= 2
    bigger = _dry_run_mem(tmp_path, doubled, "chunk2x")
    assert min(bigger["generate_burgers"]) > max(base["generate_burgers"])
    assert min(bigger["generate_ns_nu1e4"]) > max(base["generate_ns_nu1e4"])
