"""A real one-node SLURM cluster for tests, started and stopped from Python.

Needs root and Debian's ``slurm-wlm`` and ``munge`` packages (``.ci/install_slurm.sh``).
Everything SLURM writes (config, state, spool, logs, pid files) lives in one work
directory; the controller and node daemons listen on free ports picked at start, so two
test sessions on one machine do not collide. munged is shared: a running one is reused,
otherwise one is started (as the munge user) and stopped again with the cluster.

Usage::

    with OneNodeSlurm(tmp_dir) as cluster:
        subprocess.run(["sbatch", "--wait", "job.sh"], env=cluster.env, check=True)
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO

SBIN_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")
DAEMONS = ("slurmctld", "slurmd", "munged")
CLIENTS = ("sbatch", "srun", "squeue", "sinfo", "scontrol", "scancel", "munge", "unmunge")
# Client commands given a wrapper that pins SLURM_CONF (see OneNodeSlurm._write_shims).
SHIMMED = ("sbatch", "srun", "salloc", "squeue", "sinfo", "scontrol", "scancel", "sacct")
MUNGE_KEY = Path("/etc/munge/munge.key")
MUNGE_RUN_DIR = Path("/run/munge")
PARTITION = "debug"
# Jobs that may share one core. Test jobs are short and mostly wait (interpreter start-up,
# Snakemake's status checks), so a 2-core node runs a whole workflow stage at once rather
# than two jobs at a time; memory (--mem) is still allocated exactly.
JOBS_PER_CORE = 4


def _search_path() -> str:
    """PATH with the sbin directories appended (daemons live there)."""
    parts = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(parts + [d for d in SBIN_DIRS if d not in parts])


def _which(name: str) -> str | None:
    """Full path of an executable, also looking in the sbin directories."""
    return shutil.which(name, path=_search_path())


def slurm_available() -> tuple[bool, str]:
    """Whether a one-node cluster can be started here, and if not, why."""
    missing = [name for name in DAEMONS + CLIENTS if _which(name) is None]
    if missing:
        return False, f"SLURM/munge not installed (missing {', '.join(missing)}); run .ci/install_slurm.sh"
    if os.geteuid() != 0:
        return False, "starting slurmctld, slurmd and munged needs root"
    return True, "slurm-wlm and munge installed, running as root"


def _free_port() -> int:
    """A TCP port that is free right now on localhost."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OneNodeSlurm:
    """slurmctld + slurmd (+ munged if none runs) on this machine, configured in ``workdir``."""

    def __init__(self, workdir: Path, partition: str = PARTITION, start_timeout: float = 60.0,
                 jobs_per_core: int = JOBS_PER_CORE) -> None:
        self.workdir = Path(workdir).resolve()
        self.partition = partition
        self.jobs_per_core = jobs_per_core
        self.start_timeout = start_timeout
        self.conf = self.workdir / "slurm.conf"
        self.node_name = ""
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[IO[bytes]] = []
        self.bin_dir = self.workdir / "bin"
        self.env: dict[str, str] = {
            **os.environ,
            "SLURM_CONF": str(self.conf),
            "PATH": os.pathsep.join([str(self.bin_dir), _search_path()]),
        }
        # Never let a surrounding allocation leak into the jobs we submit.
        for key in [k for k in self.env if k.startswith("SLURM_") and k != "SLURM_CONF"]:
            del self.env[key]

    # -- life cycle -------------------------------------------------------------------

    def __enter__(self) -> OneNodeSlurm:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def pids(self) -> dict[str, int]:
        """PIDs of the daemons this object started (munged only if it started it)."""
        return {name: proc.pid for name, proc in self._procs.items()}

    def start(self) -> None:
        """Start munged (if needed), slurmctld and slurmd; return once the node is idle."""
        ok, reason = slurm_available()
        if not ok:
            raise RuntimeError(reason)
        try:
            self._ensure_munge()
            self._write_conf()
            self._spawn("slurmctld", [self._exe("slurmctld"), "-D", "-i", "-f", str(self.conf)])
            self._spawn("slurmd", [self._exe("slurmd"), "-D", "-f", str(self.conf), "-N", self.node_name])
            self._wait_idle()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Cancel leftover jobs, then stop exactly the daemons started here and wait for them."""
        if "slurmctld" in self._procs and self._procs["slurmctld"].poll() is None:
            self._cancel_jobs()
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self._procs.pop(name, None)
            if proc is None:
                continue
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        for handle in self._logs:
            handle.close()
        self._logs.clear()

    # -- helpers for tests ------------------------------------------------------------

    def run(self, *args: str, check: bool = True, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run a SLURM client command against this cluster."""
        return subprocess.run(
            list(args), env=self.env, check=check, capture_output=True, text=True, timeout=timeout
        )

    def log_tail(self, lines: int = 30) -> str:
        """Last lines of the daemon logs, for error messages."""
        out = []
        for path in sorted((self.workdir / "log").glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"== {path.name}\n" + "\n".join(text))
        return "\n".join(out)

    # -- internals --------------------------------------------------------------------

    @staticmethod
    def _exe(name: str) -> str:
        path = _which(name)
        if path is None:
            raise RuntimeError(f"{name} not found")
        return path

    def _munge_works(self) -> bool:
        """True when a munged answers on the default socket."""
        try:
            token = subprocess.run([self._exe("munge"), "-n"], capture_output=True, timeout=10, check=True)
            subprocess.run(
                [self._exe("unmunge")], input=token.stdout, capture_output=True, timeout=10, check=True
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            return False
        return True

    def _ensure_munge(self) -> None:
        """Reuse a working munged, or create key and run dir and start one as the munge user."""
        if self._munge_works():
            return
        if not MUNGE_KEY.exists():
            MUNGE_KEY.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([self._exe("mungekey"), "--create", "--keyfile", str(MUNGE_KEY)], check=True)
            shutil.chown(MUNGE_KEY, "munge", "munge")
            MUNGE_KEY.chmod(0o400)
        MUNGE_RUN_DIR.mkdir(parents=True, exist_ok=True)
        shutil.chown(MUNGE_RUN_DIR, "munge", "munge")
        MUNGE_RUN_DIR.chmod(0o755)
        self._spawn("munged", [self._exe("munged"), "--foreground"], user="munge")
        deadline = time.monotonic() + 20
        while not self._munge_works():
            if self._procs["munged"].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"munged did not come up:\n{self.log_tail()}")
            time.sleep(0.2)

    def _node_line(self) -> str:
        """The NodeName line that ``slurmd -C`` reports for this machine."""
        out = subprocess.run([self._exe("slurmd"), "-C"], capture_output=True, text=True, check=True).stdout
        line = next(ln for ln in out.splitlines() if ln.startswith("NodeName="))
        self.node_name = line.split()[0].split("=", 1)[1]
        return f"{line} NodeAddr=127.0.0.1 State=UNKNOWN"

    def _write_conf(self) -> None:
        """Write slurm.conf and create the state, spool and log directories."""
        for sub in ("state", "spool", "log", "run"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        self._write_shims()
        node_line = self._node_line()
        w = self.workdir
        settings = {
            "ClusterName": "opbenchtest",
            "SlurmctldHost": f"{socket.gethostname()}(127.0.0.1)",
            "SlurmctldPort": _free_port(),
            "SlurmdPort": _free_port(),
            "SlurmUser": "root",
            "SlurmdUser": "root",
            "AuthType": "auth/munge",
            "CredType": "cred/munge",
            "MpiDefault": "none",
            "ProctrackType": "proctrack/linuxproc",
            "TaskPlugin": "task/none",
            "SelectType": "select/cons_tres",
            "SelectTypeParameters": "CR_Core_Memory",
            # Without a default, a job that asks for no memory is given the whole node.
            "DefMemPerCPU": 1000,
            "SchedulerType": "sched/backfill",
            "AccountingStorageType": "accounting_storage/none",
            "JobAcctGatherType": "jobacct_gather/none",
            "JobCompType": "jobcomp/none",
            "ReturnToService": 2,
            # Finished jobs stay visible to squeue/scontrol for 10 minutes: Snakemake's
            # plugin needs that to track jobs with squeue when there is no sacct.
            "MinJobAge": 600,
            "SlurmctldTimeout": 30,
            "SlurmdTimeout": 60,
            "StateSaveLocation": w / "state",
            "SlurmdSpoolDir": w / "spool",
            "SlurmctldPidFile": w / "run" / "slurmctld.pid",
            "SlurmdPidFile": w / "run" / "slurmd.pid",
            "SlurmctldLogFile": w / "log" / "slurmctld.log",
            "SlurmdLogFile": w / "log" / "slurmd.log",
            "SlurmctldDebug": "info",
            "SlurmdDebug": "info",
        }
        lines = [f"{key}={value}" for key, value in settings.items()]
        lines.append(node_line)
        oversubscribe = f"FORCE:{self.jobs_per_core}" if self.jobs_per_core > 1 else "NO"
        lines.append(f"PartitionName={self.partition} Nodes=ALL Default=YES MaxTime=INFINITE State=UP "
                     f"OverSubscribe={oversubscribe}")
        self.conf.write_text("\n".join(lines) + "\n")

    def _write_shims(self) -> None:
        """Put wrappers of the client commands, pinned to this cluster's config, in bin/.

        Snakemake's slurm-jobstep plugin removes every SLURM_* variable (SLURM_CONF too)
        before it calls ``srun`` inside a job; on a real cluster srun then reads
        /etc/slurm/slurm.conf, here it would fail with "Could not establish a
        configuration source". The wrappers (first on the jobs' PATH) restore it.
        """
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        for name in SHIMMED:
            real = _which(name)
            if real is None:
                continue
            shim = self.bin_dir / name
            shim.write_text(f'#!/bin/sh\nSLURM_CONF="{self.conf}" exec "{real}" "$@"\n')
            shim.chmod(0o755)

    def _spawn(self, name: str, argv: list[str], user: str | None = None) -> None:
        """Start one daemon in the foreground, its console output in log/<name>.out."""
        out = open(self.workdir / "log" / f"{name}.out", "ab") if name != "munged" else subprocess.DEVNULL
        if out is not subprocess.DEVNULL:
            self._logs.append(out)
        self._procs[name] = subprocess.Popen(
            argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            user=user,
            group=user,
            start_new_session=True,
        )

    def _wait_idle(self) -> None:
        """Poll sinfo until the node is idle; fail early if a daemon dies."""
        deadline = time.monotonic() + self.start_timeout
        state = ""
        while time.monotonic() < deadline:
            for name, proc in self._procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.log_tail()}")
            res = self.run("sinfo", "-h", "-N", "-o", "%T", check=False, timeout=15)
            state = res.stdout.strip()
            if res.returncode == 0 and state == "idle":
                return
            time.sleep(0.5)
        raise RuntimeError(
            f"node not idle after {self.start_timeout} s (state {state!r}):\n{self.log_tail()}"
        )

    def _cancel_jobs(self) -> None:
        """Cancel this cluster's unfinished jobs and give their steps a moment to end."""
        res = self.run("squeue", "-h", "-t", "PD,R,CG,S", "-o", "%i", check=False, timeout=15)
        ids = res.stdout.split()
        if not ids:
            return
        self.run("scancel", *ids, check=False, timeout=15)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            res = self.run("squeue", "-h", "-t", "PD,R,CG,S", "-o", "%i", check=False, timeout=15)
            if not res.stdout.split():
                return
            time.sleep(0.5)
