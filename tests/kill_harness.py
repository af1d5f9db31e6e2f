"""Kill a real Snakemake run at chosen moments and restart it, as a pre-empted or crashed job would be.

A kill point is (stage, delay, signal): once a job of the stage has started its work (its script
opened its log, which the scripts do after their imports; for training, once an epoch has been
written to the history), wait ``delay`` seconds, then send ``signal`` to
the workflow's whole process group (Snakemake and every job it started). SIGKILL is a crash or an
out-of-memory kill; SIGTERM to the group is what ``scancel`` or a SLURM pre-emption sends first.
Points are drawn from a seeded generator and grouped into chains: each chain is one working
directory that is killed at its points in pipeline order, unlocked and restarted with
``--rerun-incomplete`` after each, and finally run to completion.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tiny_workflow import check_integrity, snakemake, snakemake_cmd

TRIGGERS = {"generate": "logs/generate/*.log", "train": "results/runs/*/*/seed*/history.csv",
            "infer": "logs/infer/*.log", "aggregate": "logs/aggregate_metrics/*.log", "report": "logs/report/*.log"}
# Upper bounds of the delays: about the length of each stage's work in the tiny run.
MAX_DELAY = {"generate": 1.5, "train": 0.5, "infer": 1.5, "aggregate": 0.4, "report": 3.0}
CHAINS = (
    ("generate", "train", "infer", "aggregate", "report"),
    ("generate", "generate", "train", "train", "infer", "report"),
)


@dataclass
class KillPoint:
    stage: str
    delay: float
    sig: int

    def label(self) -> str:
        return f"{self.stage}+{self.delay:.2f}s/{signal.Signals(self.sig).name}"


@dataclass
class Outcome:
    point: KillPoint
    delivered: bool = False  # the workflow was still running when the signal went out
    faults: list[str] = field(default_factory=list)  # truncated files under final names
    stale_temporaries: int = 0  # hidden .tmp files a killed writer left (never under a final name)
    resume_state: bool = False  # a train resume.pt was on disk after the kill
    started: float = 0.0


def kill_plan(seed: int = 2026) -> list[list[KillPoint]]:
    """The seeded kill points, one list per chain; the second chain's first train point uses SIGTERM."""
    rng = random.Random(seed)
    plan = []
    for stages in CHAINS:
        chain, term_used = [], False
        for stage in stages:
            sig = signal.SIGKILL
            if stage == "train" and not term_used and len(plan) == 1:
                sig, term_used = signal.SIGTERM, True
            chain.append(KillPoint(stage, round(rng.uniform(0.0, MAX_DELAY[stage]), 3), sig))
        plan.append(chain)
    return plan


def _group_alive(pgid: int) -> list[int]:
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            alive.append(int(entry.name))
    return alive


def _wait_group_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _group_alive(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _touched_since(workdir: Path, pattern: str, since: float) -> bool:
    for path in workdir.glob(pattern):
        try:
            if path.stat().st_mtime >= since:
                return True
        except FileNotFoundError:  # replaced or removed while we looked
            continue
    return False


def unlock_if_needed(workdir: Path) -> None:
    locks = workdir / ".snakemake" / "locks"
    if locks.exists() and any(locks.iterdir()):
        proc = snakemake(workdir, "--unlock")
        assert proc.returncode == 0, proc.stderr[-2000:]


def run_until_killed(workdir: Path, point: KillPoint, log: Path, timeout: float = 600) -> Outcome:
    """Start (or restart) the workflow, kill its process group at ``point``, check what is on disk."""
    unlock_if_needed(workdir)
    outcome = Outcome(point)
    started = outcome.started = time.time()
    with open(log, "a") as out:
        out.write(f"\n=== segment killed at {point.label()} ===\n")
        out.flush()
        proc = subprocess.Popen(snakemake_cmd(workdir, "--cores", "2", "--rerun-incomplete"), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    pgid = proc.pid  # start_new_session: the leader's pid is the group id
    try:
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            if _touched_since(workdir, TRIGGERS[point.stage], started):
                time.sleep(point.delay)
                if proc.poll() is None:
                    os.killpg(pgid, point.sig)
                    outcome.delivered = True
                break
            time.sleep(0.02)
        if point.sig == signal.SIGTERM and outcome.delivered:
            # SLURM waits KillWait (30 s by default) after SIGTERM before its SIGKILL.
            if not _wait_group_gone(pgid, 30):
                os.killpg(pgid, signal.SIGKILL)
        if proc.poll() is None and not outcome.delivered:
            os.killpg(pgid, signal.SIGKILL)  # the stage never came: give up on this point
        proc.wait(timeout=60)
        assert _wait_group_gone(pgid, 30), "processes of the killed workflow survived"
    finally:
        if _group_alive(pgid):
            os.killpg(pgid, signal.SIGKILL)
    outcome.faults = check_integrity(workdir)
    outcome.stale_temporaries = sum(1 for p in (workdir / "results").rglob(".*tmp*")) if (
        workdir / "results").exists() else 0
    outcome.resume_state = any((workdir / "results" / "runs").rglob("resume.pt")) if (
        workdir / "results" / "runs").exists() else False
    return outcome


def resumed_jobs(workdir: Path, since: float) -> int:
    """Train jobs started after ``since`` that continued from a resume state (their log says so)."""
    return sum("opbench: resumed" in p.read_text(errors="replace")
               for p in workdir.glob("logs/train/*.log") if p.stat().st_mtime >= since)
