r"""The one start of every workflow script: ``sm = start_job()``, in Snakemake or outside it.

Every script in ``workflow/scripts`` begins with ``sm = start_job()`` and reads its job only from
the object it returns (``sm.input``, ``sm.output``, ``sm.params``, ``sm.wildcards``, ``sm.threads``,
``sm.log``, ``sm.config``). ``start_job`` does the same four things for every job:

- an ``OpbenchError`` ends the job with one line, ``opbench error: ...``, in its log (``errors``);
- ``sys.stderr`` becomes the job's log, line-buffered (a killed job keeps what it wrote);
- when the job uses torch (it is imported, or ``torch=True``): ``sm.threads`` intra-op threads
  (at least 1) and deterministic kernels where torch has them (``warn_only``: a warning, not an
  error, where it has none). torch is never imported here otherwise: most scripts do not need it.
- threads of the BLAS/OpenMP libraries: Snakemake sets ``OMP_NUM_THREADS`` and its kin to the job's
  threads before it starts a script; outside Snakemake the same variables are set here (see below).

Outside Snakemake (no injected ``snakemake`` object) the script builds its job itself from the
Snakefile, a config and the job's wildcards, through Snakemake's own API, so input, output, params,
threads and log are exactly those Snakemake gives that job::

    python workflow/scripts/generate_data.py --configfile configs/smoke.yaml pde=heat split=test
    python workflow/scripts/generate_data.py --configfile configs/smoke.yaml results/data/heat/test_s16.nc
    python workflow/scripts/train_model.py --configfile configs/smoke.yaml pde=heat model=fno seed=0
    python workflow/scripts/train_model.py --configfile configs/smoke.yaml --rule repro_train \
        pde=heat model=fno res=16 seed=0

Arguments: ``--configfile F`` and ``--config key=value`` as Snakemake's (one value each; repeat
them), ``--cores N`` (the job's threads, as ``snakemake --cores N`` would give them; default 1),
``--directory`` (the working directory, default the current one), ``--snakefile`` (default the
Snakefile two folders above the script), ``--rule`` (needed only when the wildcards fit several of
the script's rules), then either the job's wildcards as ``name=value`` or one output file of the
job. A ``name=value`` that is not a wildcard of a rule picks among the rules made one per value
(``generate_heat`` has ``params.pde == "heat"``, so ``pde=heat`` selects it).

The job runs in the working directory; the folders of its outputs and log are made first, as
Snakemake makes them. When the thread variables differ from the job's threads, the script starts
itself again once with them set, as Snakemake starts it (set ``OMP_NUM_THREADS`` and its kin
yourself, e.g. under a debugger, to avoid the restart).
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opbench.errors import OpbenchError, one_line_errors

# The variables Snakemake's shell sets to a job's threads before it starts the job's script.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "GOTO_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


class ScriptUsageError(OpbenchError):
    """A script run outside Snakemake was given no job, or one that no rule of it makes."""


def start_job(*, torch: bool | None = None, argv: list[str] | None = None) -> Any:
    """The job's Snakemake object, with one-line errors, the log as stderr, threads and determinism set.

    ``torch``: None sets torch's threads and deterministic kernels when torch is already imported
    (the script uses it), True imports it, False leaves it alone. ``argv`` (outside Snakemake): the
    command line, by default ``sys.argv[1:]``.
    """
    one_line_errors()  # an opbench error ends the job with one line in the log, not a traceback
    sm = injected_job()
    if sm is None:
        sm = job_from_command_line(sys.argv[1:] if argv is None else argv, script=main_script())
    if sm.log:
        sys.stderr = open(sm.log[0], "w", buffering=1)  # noqa: SIM115 - stays open for the job's life
    if torch or (torch is None and "torch" in sys.modules):
        set_torch_threads(sm.threads)
    return sm


def set_torch_threads(threads: int) -> None:
    """``threads`` intra-op threads (at least 1) and deterministic kernels where torch has them."""
    import torch

    torch.set_num_threads(max(1, int(threads)))
    torch.use_deterministic_algorithms(True, warn_only=True)


def injected_job() -> Any | None:
    """The ``snakemake`` object Snakemake puts into the script it runs, or None outside Snakemake."""
    main = sys.modules.get("__main__")
    return getattr(main, "snakemake", None) if main is not None else None


def main_script() -> Path:
    """The running script (Snakemake runs a copy but sets ``__file__`` to the original)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None:
        raise ScriptUsageError("no script file: start_job() runs from a workflow script")
    return Path(path).resolve()


def restart_with_thread_variables(threads: int) -> None:
    """Set the thread variables Snakemake sets and start this process again when they were not set:
    numpy's BLAS reads them when it loads, which is before the script knows its job's threads."""
    wanted = str(threads)
    if all(os.environ.get(k) == wanted for k in THREAD_VARIABLES):
        return
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, wanted))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, sys.orig_argv)


def parse_args(argv: list[str], script: Path) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python {script.name}", description=f"Run {script.name} outside Snakemake, as the job Snakemake "
        "would run: give the job's wildcards (name=value) or one of its output files.")
    parser.add_argument("--configfile", action="append", default=[], help="a config file (repeat for more)")
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE", help="a config value, "
                        "as snakemake --config (repeat for more)")
    parser.add_argument("--cores", type=int, default=1, help="as snakemake --cores (sets the job's threads)")
    parser.add_argument("--directory", type=Path, default=Path.cwd(), help="working directory (default: here)")
    parser.add_argument("--snakefile", type=Path, default=script.parents[2] / "Snakefile")
    parser.add_argument("--rule", help="the rule, when the wildcards fit several rules of this script")
    parser.add_argument("job", nargs="*", metavar="NAME=VALUE|OUTPUT", help="the job's wildcards or an output")
    return parser.parse_args(argv)


def job_from_command_line(argv: list[str], script: Path) -> Any:
    """Build the Snakemake object of the job the command line names, through Snakemake's API, start
    again with the job's thread variables if needed, and move into the working directory with the
    folders of the job's outputs and log made."""
    args = parse_args(argv, script)
    from snakemake.iocontainers import Snakemake

    workdir = args.directory.resolve()
    with snakemake_workflow(args.snakefile, args.configfile, args.config, args.cores, workdir) as workflow:
        rule, wildcards = select_job(workflow, script, args.job, args.rule)
        job = make_job(workflow, rule.name, wildcards)
        sm = Snakemake(job.input, job.output, job.params, job.wildcards, job.threads, job.resources, job.log,
                       workflow.config, rule.name, None, str(script.parent))
        # a script gets the object as Snakemake hands it over, pickled: a deep copy goes through the same
        # reduce protocol (a CanonicalDict arrives a dict) without unpickling anything
        sm = copy.deepcopy(sm)
    restart_with_thread_variables(sm.threads)  # from where it was started: relative paths still hold
    os.chdir(workdir)
    for path in [*sm.output, *sm.log]:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return sm


@contextmanager
def snakemake_workflow(snakefile: str | Path, configfiles: Sequence[str | Path] = (), config: Sequence[str] = (),
                       cores: int = 1, workdir: str | Path | None = None) -> Iterator[Any]:
    """The workflow Snakemake parses from ``snakefile`` with these config files, ``key=value`` config
    entries and cores, with an empty DAG to hang jobs on (``make_job``); nothing is run. The working
    directory is ``workdir`` inside the block and the one before it after."""
    from snakemake.api import SnakemakeApi
    from snakemake.cli import parse_config
    from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings

    with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(cores=cores),
            config_settings=ConfigSettings(configfiles=[Path(f).resolve() for f in configfiles],
                                           config=parse_config(list(config))),
            snakefile=Path(snakefile).resolve(), workdir=Path(workdir or Path.cwd()).resolve())
        try:
            workflow_api.dag(DAGSettings())
            workflow = workflow_api._workflow
            workflow._prepare_dag(forceall=False, ignore_incomplete=True, lock_warn_only=True, nolock=True)
            yield workflow
        finally:
            del workflow_api  # Snakemake's working-directory handler goes back to where we started


def make_job(workflow: Any, rule: str, wildcards: Mapping[str, str] | None = None) -> Any:
    """Snakemake's job of ``rule`` with ``wildcards`` in ``workflow``: its input, output, params,
    threads and log as Snakemake computes them (``workflow.persistence._params(job)`` is what its
    params rerun trigger compares)."""
    from snakemake.jobs import Job

    return Job(workflow.get_rule(rule), workflow.dag, dict(wildcards or {}))


def script_rules(workflow: Any, script: Path) -> list[Any]:
    """The rules of ``workflow`` whose ``script:`` is ``script``."""
    out = []
    for rule in workflow.rules:
        if rule.script is None:
            continue
        path = Path(rule.script)
        if not path.is_absolute():
            path = Path(rule.snakefile).parent / path
        if path.resolve() == script:
            out.append(rule)
    return out


def select_job(workflow: Any, script: Path, job: list[str], rule_name: str | None) -> tuple[Any, dict[str, str]]:
    """(rule, wildcards) of the job named by ``name=value`` wildcards or by one output file."""
    rules = script_rules(workflow, script)
    if rule_name is not None:
        rules = [r for r in rules if r.name == rule_name]
        if not rules:
            names = ", ".join(r.name for r in script_rules(workflow, script))
            raise ScriptUsageError(f"--rule {rule_name}: {script.name} is the script of the rules {names}")
    if not rules:
        raise ScriptUsageError(f"no rule of this config runs {script.name}")
    targets = [j for j in job if "=" not in j]
    if targets:
        if len(targets) > 1 or len(job) > 1:
            raise ScriptUsageError(f"give the job's wildcards (name=value) or one output file, not {job}")
        found = [r for r in rules if r.is_producer(targets[0])]
        if len(found) != 1:
            raise ScriptUsageError(f"{targets[0]}: made by {len(found)} rules of {script.name} "
                                   f"({', '.join(r.name for r in found) or 'none'}); give --rule")
        return found[0], dict(found[0].get_wildcards(targets[0]))
    given = dict(j.split("=", 1) for j in job)
    found = [r for r in rules if _fits(r, given)]
    if len(found) != 1:
        listed = "; ".join(f"{r.name} ({', '.join(sorted(r.wildcard_names)) or 'no wildcards'})" for r in rules)
        raise ScriptUsageError(f"wildcards {given or '(none)'} fit {len(found)} rules of {script.name}: "
                               f"give --rule or the wildcards of one of: {listed}")
    rule = found[0]
    wildcards = {k: v for k, v in given.items() if k in rule.wildcard_names}
    if rule.output and not rule.is_producer(rule.output[0].apply_wildcards(wildcards)):
        # the rule's pattern takes these values, its wildcard constraints do not: Snakemake never runs that job
        allowed = "; ".join(f"{k} ~ {v}" for k, v in {**rule.workflow.wildcard_constraints,
                                                       **rule.wildcard_constraints}.items() if k in wildcards)
        raise ScriptUsageError(f"wildcards {wildcards} break {rule.name}'s wildcard constraints ({allowed})")
    return rule, wildcards


def _fits(rule: Any, given: dict[str, str]) -> bool:
    """Every wildcard of ``rule`` given, and every other name a constant param of that value."""
    if not set(rule.wildcard_names) <= set(given):
        return False
    for name in set(given) - set(rule.wildcard_names):
        value = getattr(rule.params, name, None) if name in rule.params.keys() else None
        if not isinstance(value, str | int) or str(value) != given[name]:
            return False
    return True
