"""Validate a workflow config before any job runs, with one clear line per mistake.

The JSON Schema in ``workflow/schemas/config.schema.yaml`` is the single description of the
config. ``validate_config`` checks it (turning jsonschema's multi-line reports into one line that
names the key and what is allowed), fills the schema's defaults, then checks what a schema cannot:
that every resolution restricts the fine grid exactly, that the training resolution is on the
ladder, and that run selections name existing entries.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema.exceptions import ValidationError, best_match

from opbench.config_input import check_values, clip
from opbench.errors import OpbenchError
from opbench.solvers import ParamsError, get_pde, pde_types

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(OpbenchError, ValueError):
    """A config mistake, described in one line that names the key."""


def load_schema(path: str | Path | None = None) -> dict[str, Any]:
    with open(path or SCHEMA_PATH, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _where(path: Iterator[Any] | Any) -> str:
    parts = [str(p) for p in path]
    return ".".join(parts) if parts else "(top level)"


def _allowed(schema: Mapping[str, Any]) -> str:
    """A short text of what a schema node accepts."""
    if "enum" in schema:
        return "one of " + ", ".join(map(str, schema["enum"]))
    if "const" in schema:
        return repr(schema["const"])
    bounds = []
    for key, sym in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
        if key in schema:
            bounds.append(f"{sym} {schema[key]}")
    kind = schema.get("type")
    text = f"{kind}" if isinstance(kind, str) else ""
    return (text + " " + " and ".join(bounds)).strip() or "see workflow/schemas/config.schema.yaml"


def format_error(err: ValidationError) -> str:
    """One line naming the offending key, the bad value and what is allowed."""
    where = _where(err.absolute_path)
    v = err.validator
    if v == "additionalProperties":
        known = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(known)) if isinstance(err.instance, dict) else []
        names = ", ".join(repr(x) for x in extra) or "?"
        allowed = ", ".join(known) if known else "none"
        return f"unknown key {names} in {where} (allowed keys: {allowed})"
    if v == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        return f"missing key {missing!r} in {where}"
    if "propertyNames" in err.schema_path:
        pattern = err.schema.get("pattern", err.validator_value)
        return f"{where}: name {err.instance!r} is not allowed (names must match {pattern})"
    if v in ("enum", "const"):
        return f"{where}: {err.instance!r} is not allowed (allowed: {_allowed(err.schema)})"
    if v == "type":
        got = type(err.instance).__name__
        return f"{where}: expected {err.validator_value}, got {got} {err.instance!r}"
    if v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        return f"{where}: {err.instance!r} is out of range (allowed: {_allowed(err.schema)})"
    if v in ("minItems", "maxItems", "uniqueItems", "minProperties"):
        return f"{where}: {err.message}"
    return f"{where}: {err.message.splitlines()[0]}"


def _with_defaults(validator_cls: type) -> type:
    """A validator class that also fills ``default`` values of missing object properties."""
    check_properties = validator_cls.VALIDATORS["properties"]

    def properties(validator, props, instance, schema):
        if isinstance(instance, dict):
            for name, sub in props.items():
                if isinstance(sub, dict) and "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from check_properties(validator, props, instance, schema)

    return jsonschema.validators.extend(validator_cls, {"properties": properties})


def _is_integer(checker, instance) -> bool:
    # JSON Schema counts 64.0 as an integer; we refuse it (one policy everywhere: an integer is
    # written as one, so `fine_res: 64.0` never reaches a path, a wildcard or a range()).
    return isinstance(instance, int) and not isinstance(instance, bool)


_Strict = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)
_DefaultingValidator = _with_defaults(_Strict)


def validate_config(config: Mapping[str, Any], schema: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return a validated copy of ``config`` with defaults filled; raise ``ConfigError`` otherwise."""
    schema = schema if schema is not None else load_schema()
    check_values(config)  # before any deep walk: finite numbers, 63-bit integers, bounded size
    cfg = copy.deepcopy(dict(config))
    strict = _Strict(schema)
    err = best_match(strict.iter_errors(cfg))
    if err is not None:
        raise ConfigError(clip(format_error(err)))
    _DefaultingValidator(schema).validate(cfg)
    _check_model_options(cfg)
    _check_semantics(cfg)
    _check_experiments(cfg)
    _check_reproduction(cfg)
    _check_models(cfg)
    _check_sizes(cfg)
    _check_hnn(cfg)
    return cfg


def _model_fits(where: str, model: Mapping[str, Any], grid: int) -> None:
    """Hyperparameters that must agree with each other and with the training grid."""
    kind = model["type"]
    if kind in ("transformer", "galerkin_transformer") and model["d_model"] % model["heads"]:
        divisors = [h for h in range(1, model["d_model"] + 1) if model["d_model"] % h == 0]
        raise ConfigError(f"{where}.heads: {model['heads']} does not divide d_model {model['d_model']} "
                          f"(allowed: {', '.join(map(str, divisors[:12]))})")
    if kind == "fno" and model["modes"] > grid // 2:
        raise ConfigError(f"{where}.modes: {model['modes']} Fourier modes do not fit the training grid of {grid} "
                          f"points (allowed: 1 to {grid // 2})")
    if kind == "unet" and grid < 2 ** model["depth"]:
        raise ConfigError(f"{where}.depth: {model['depth']} halvings do not fit the training grid of {grid} points "
                          f"(allowed: 1 to {max(1, grid.bit_length() - 1)})")


def _check_model_options(cfg: dict[str, Any]) -> None:
    """Each model's keys are its constructor's keyword arguments (besides ``type`` and ``training``)."""
    from opbench.models.registry import check_model_options  # imports torch: only once the schema passed

    exp = cfg.get("experiments") or {}
    shared = exp.get("models") or {}
    per = [(f"experiments.per_pde.{p}.models",  # names not in experiments.models: refused by _check_experiments
            {m: {**shared[m], **o} for m, o in ((v or {}).get("models") or {}).items() if m in shared})
           for p, v in (exp.get("per_pde") or {}).items()]
    for prefix, models in (("models", cfg["models"]), ("experiments.models", exp.get("models") or {}), *per):
        for mname, model in models.items():
            options = {k: v for k, v in model.items() if k not in ("type", "training")}
            try:
                check_model_options(model["type"], options, f"{prefix}.{mname}")
            except ValueError as err:
                raise ConfigError(str(err)) from None


def _check_models(cfg: dict[str, Any]) -> None:
    """Every model's hyperparameters fit the grid of each PDE it trains on (and the experiments' grid)."""
    for pname in run_pdes(cfg):
        for mname in pde_models(cfg, pname):
            _model_fits(f"models.{mname}", cfg["models"][mname], cfg["pdes"][pname]["train_res"])
    exp = cfg.get("experiments")
    if exp:
        for mname, model in exp["models"].items():
            _model_fits(f"experiments.models.{mname}", model, exp["train_res"])


def _gb(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.3g} GB"


def _check_sizes(cfg: dict[str, Any]) -> None:
    """A split is solved and held in memory as float64 on the fine grid: its bytes against data.max_split_gb."""
    ceiling = float(cfg["data"]["max_split_gb"]) * 1e9
    for name, pde in cfg["pdes"].items():
        spec = get_pde(pde["type"])
        points = pde["fine_res"] ** spec.ndim
        fields = 2
        if spec.time_dependent:
            params = pde.get("params", {})
            fields = 1 + int(round(float(params.get("T", 1.0)) / float(params.get("snapshot_dt", 1.0))))
        per_sample = points * fields * 8
        for split, count in pde["samples"].items():
            need = count * per_sample
            if need > ceiling:
                raise ConfigError(
                    f"pdes.{name}.samples.{split}: {count} samples x {pde['fine_res']}^{spec.ndim} points x "
                    f"{fields} fields x 8 bytes = {_gb(need)} exceeds data.max_split_gb "
                    f"{cfg['data']['max_split_gb']:g} (allowed: at most {max(0, int(ceiling // per_sample))} "
                    f"samples, or raise data.max_split_gb if the machine holds it)")


def _check_hnn(cfg: dict[str, Any]) -> None:
    """HNN trajectories hold at least one saved step per split, and a bounded number of integrator steps."""
    hnn = (cfg.get("physics") or {}).get("hnn")
    if not hnn:
        return
    ppp = hnn["points_per_period"]
    for key in ("train_periods", "rollout_periods"):
        steps = int(round(hnn[key] * ppp))
        if steps < 1:
            raise ConfigError(f"physics.hnn.{key}: {hnn[key]:g} periods x {ppp} points per period is no saved "
                              f"step (allowed: >= {0.5 / ppp:g})")
        count = hnn["trajectories"]["train" if key == "train_periods" else "test"]
        work = count * steps * hnn["substeps"]
        if work > 10**9:
            raise ConfigError(f"physics.hnn.{key}: {count} trajectories x {hnn[key]:g} periods x {ppp} points x "
                              f"{hnn['substeps']} substeps = {work:,} integrator steps "
                              "(allowed: at most 1,000,000,000)")


def _check_semantics(cfg: dict[str, Any]) -> None:
    data = cfg.get("data", {})
    if data.get("cluster", {}).get("kind") == "slurm" and data.get("scheduler") != "distributed":
        raise ConfigError(
            f"data.cluster.kind: 'slurm' needs data.scheduler: distributed, not {data.get('scheduler')!r} "
            f"(allowed with {data.get('scheduler')!r}: local)"
        )
    for name, pde in cfg["pdes"].items():
        if pde["type"] not in pde_types():
            raise ConfigError(f"pdes.{name}.type: {pde['type']!r} is not allowed (allowed: {', '.join(pde_types())})")
        try:
            get_pde(pde["type"]).parameters(pde, where=f"pdes.{name}")
        except ParamsError as err:
            raise ConfigError(str(err)) from None
        grid = get_pde(pde["type"]).grid
        fine = pde["fine_res"]
        allowed = [r for r in range(2, fine + 1) if grid.can_restrict(fine, r)]
        for res in pde["ladder"]:
            if not grid.can_restrict(fine, res):
                rule = "divisors" if grid.kind == "periodic" else "values with (res - 1) dividing (fine_res - 1)"
                shown = ", ".join(map(str, allowed[-8:]))
                raise ConfigError(
                    f"pdes.{name}.ladder: resolution {res} does not restrict fine_res {fine} exactly "
                    f"(allowed: {rule} of it, e.g. {shown})"
                )
        if get_pde(pde["type"]).time_dependent:
            _check_history(name, pde)
        for item in pde.get("models", []):
            if item not in cfg["models"]:
                raise ConfigError(
                    f"pdes.{name}.models: {item!r} is not defined (allowed: {', '.join(sorted(cfg['models']))})"
                )
        if pde["train_res"] not in pde["ladder"]:
            raise ConfigError(
                f"pdes.{name}.train_res: {pde['train_res']} is not on the ladder "
                f"(allowed: {', '.join(map(str, sorted(pde['ladder'])))})"
            )
    run = cfg.get("run", {})
    for section in ("pdes", "models"):
        for item in run.get(section, []):
            if item not in cfg[section]:
                raise ConfigError(
                    f"run.{section}: {item!r} is not defined (allowed: {', '.join(sorted(cfg[section]))})"
                )
    _check_physics(cfg)
    for mname, model in cfg["models"].items():
        patch = model.get("patch", 1) if model["type"] == "transformer" and not model.get("resample") else 1
        if patch > 1:
            for pname in run_pdes(cfg):
                if mname not in pde_models(cfg, pname):
                    continue
                bad = [r for r in cfg["pdes"][pname]["ladder"] if r % patch]
                if bad:
                    raise ConfigError(
                        f"models.{mname}.patch: {patch} does not divide resolutions {bad} of pdes.{pname}.ladder "
                        f"(allowed: a patch size dividing every ladder resolution)"
                    )


def _check_physics(cfg: dict[str, Any]) -> None:
    """The optional ``physics`` section names PDEs and models that exist and fit its experiments."""
    physics = cfg.get("physics") or {}
    pinn = physics.get("pinn")
    if pinn:
        # the PINN fits a static 1D periodic map from the residual terms its PDE declares
        one_d = sorted(n for n, p in cfg["pdes"].items()
                       if get_pde(p["type"]).residual_terms and get_pde(p["type"]).static_1d_periodic)
        for name in pinn["pdes"]:
            if name not in one_d:
                raise ConfigError(
                    f"physics.pinn.pdes: {name!r} is not a 1D periodic PDE with a PINN residual "
                    f"(allowed: {', '.join(one_d)})"
                )
            if pinn["operator"] not in pde_models(cfg, name):
                raise ConfigError(
                    f"physics.pinn.operator: {pinn['operator']!r} is not run on {name} "
                    f"(allowed: {', '.join(pde_models(cfg, name))})"
                )
    diff = physics.get("diffusion")
    if diff:
        two_d = sorted(n for n, p in cfg["pdes"].items() if get_pde(p["type"]).ndim == 2)
        if diff["pde"] not in two_d:
            raise ConfigError(f"physics.diffusion.pde: {diff['pde']!r} is not a 2D PDE (allowed: {', '.join(two_d)})")
        ladder = cfg["pdes"][diff["pde"]]["ladder"]
        if diff.get("res") is not None and diff["res"] not in ladder:
            raise ConfigError(
                f"physics.diffusion.res: {diff['res']} is not on the ladder of {diff['pde']} "
                f"(allowed: {', '.join(map(str, sorted(ladder)))})"
            )


def _check_history(name: str, pde: Mapping[str, Any]) -> None:
    """A rollout needs more snapshots than its history (the first ``history`` are the input)."""
    params = pde.get("params", {})
    total, every = params.get("T"), params.get("snapshot_dt", 1.0)
    history = pde.get("history", 10)
    if total is None:
        return
    snapshots = int(round(float(total) / float(every)))
    if history >= snapshots:
        raise ConfigError(
            f"pdes.{name}.history: {history} leaves nothing to predict from T/snapshot_dt = {snapshots} snapshots "
            f"(allowed: 1 to {snapshots - 1})"
        )


def pde_models(cfg: Mapping[str, Any], pde: str) -> list[str]:
    """Model names run on one PDE: its own ``models`` list if given, else every run model (config order)."""
    chosen = cfg["pdes"][pde].get("models")
    run = run_models(cfg)
    return [m for m in run if m in chosen] if chosen else run


def pde_training(cfg: Mapping[str, Any], pde: str) -> dict[str, Any]:
    """The training recipe of one PDE: the shared ``training`` with the PDE's own overrides on top."""
    return {**cfg["training"], **(cfg["pdes"][pde].get("training") or {})}


def pde_seeds(cfg: Mapping[str, Any], pde: str) -> list[int]:
    """Training seeds of one PDE's runs: its own ``seeds`` if given, else ``training.seeds``."""
    return list(cfg["pdes"][pde].get("seeds") or cfg["training"]["seeds"])


def _check_multiscale(cfg: dict[str, Any], claim: Mapping[str, Any]) -> None:
    """Claim 6 reads base-pipeline Navier-Stokes runs: its PDEs, models and seeds must exist."""
    pdes = claim.get("pdes") or []
    # claim 6 compares vorticity spectra of rollouts: a time-dependent PDE on a 2D periodic grid
    ns = [p for p, v in cfg["pdes"].items()
          if (spec := get_pde(v["type"])).time_dependent and spec.periodic and spec.ndim == 2]
    if not pdes or any(p not in ns for p in pdes):
        raise ConfigError(f"experiments.claims.multiscale.pdes: {pdes} must name 2D periodic time-dependent "
                          f"entries of pdes (allowed: {', '.join(ns) or 'none'})")
    for p in pdes:
        models = pde_models(cfg, p)
        for field in ("contender", "reference"):
            if claim.get(field) not in models:
                raise ConfigError(f"experiments.claims.multiscale.{field}: {claim.get(field)!r} is not run on "
                                  f"pdes.{p} (allowed: {', '.join(models)})")
        if len(pde_seeds(cfg, p)) < 3:
            raise ConfigError(f"pdes.{p}.seeds: {pde_seeds(cfg, p)} has fewer than 3 seeds, which claim 6 needs "
                              "for an interval (allowed: 3 or more seeds)")


def _check_experiments(cfg: dict[str, Any]) -> None:
    """Cross-references of the ``experiments`` section: its PDE, resolutions and model names."""
    exp = cfg.get("experiments")
    if not exp:
        return
    from opbench.experiments.plan import exp_pdes, input_kind, pde_exp

    # per-PDE overrides (what an also_pdes entry on another grid cannot share with the main PDE)
    per = exp.get("per_pde") or {}
    others = exp_pdes(exp)[1:]
    for name, over in per.items():
        if name not in others:
            raise ConfigError(f"experiments.per_pde: {name!r} is not in experiments.also_pdes (allowed: "
                              f"{', '.join(others) or 'none'}; the main PDE's settings are the block's own)")
        for key in ("models", "claims"):
            for m in (over or {}).get(key) or {}:
                if m not in exp[key]:
                    raise ConfigError(f"experiments.per_pde.{name}.{key}: {m!r} is not in experiments.{key} "
                                      f"(allowed: {', '.join(exp[key])})")
    for other in exp.get("also_pdes", []):  # each checked as the main PDE is, on a copy
        try:
            _check_experiments({**cfg, "experiments": {**pde_exp(exp, other), "also_pdes": [], "per_pde": {}}})
        except ConfigError as err:
            raise ConfigError(f"experiments.also_pdes: {other!r} fails a check of the main PDE (with "
                              f"experiments.per_pde.{other} applied): {err}") from None
    pde = exp["pde"]
    # the claim sets draw inputs, restrict them to nested grids and solve them again: a static map
    # a -> u whose inputs the sets can draw (1D periodic signed fields, or a two-valued coefficient)
    allowed = [p for p, v in cfg["pdes"].items() if input_kind(v) is not None]
    if pde not in allowed:
        raise ConfigError(
            f"experiments.pde: {pde!r} is not a static-map entry of pdes with known input families "
            f"(allowed: {', '.join(allowed)})"
        )
    spec = cfg["pdes"][pde]
    ladder = sorted(spec["ladder"])
    if exp["train_res"] not in ladder:
        raise ConfigError(f"experiments.train_res: {exp['train_res']} is not on pdes.{pde}.ladder "
                          f"(allowed: {', '.join(map(str, ladder))})")
    for key in ("n_train", "n_val"):
        split = key[2:]
        if exp.get(key, 0) > spec["samples"][split]:
            raise ConfigError(f"experiments.{key}: {exp[key]} exceeds pdes.{pde}.samples.{split} "
                              f"(allowed: <= {spec['samples'][split]})")
    for mname, model in exp["models"].items():
        patch = model.get("patch", 1) if model["type"] == "transformer" and not model.get("resample") else 1
        bad = [r for r in ladder if r % patch]
        if bad:
            raise ConfigError(f"experiments.models.{mname}.patch: {patch} does not divide resolutions {bad} of "
                              f"pdes.{pde}.ladder (allowed: a patch size dividing every ladder resolution; "
                              f"another PDE's own in experiments.per_pde.<pde>.models.{mname})")
    from opbench.experiments.registry import claim_specs

    known = [spec.key for spec in claim_specs()]
    for m in ((exp.get("tuning") or {}).get("space") or {}):
        if m not in exp["models"]:
            raise ConfigError(f"experiments.tuning.space: {m!r} is not in experiments.models "
                              f"(allowed: {', '.join(exp['models'])})")
    for name, claim in exp["claims"].items():
        if name not in known:
            raise ConfigError(f"experiments.claims.{name}: not a registered claim (allowed: {', '.join(known)})")
        for field in ("models", "matrix_models", "variants", "retrained"):
            for m in claim.get(field, []):
                if m not in exp["models"]:
                    raise ConfigError(f"experiments.claims.{name}.{field}: {m!r} is not in experiments.models "
                                      f"(allowed: {', '.join(exp['models'])})")
        if name == "multiscale" and claim.get("enabled"):
            _check_multiscale(cfg, claim)
        # a model retrained at each resolution (claim 3's `retrained`) is named `<model>@retrained`
        compared = [*claim.get("models", []), *(f"{m}@retrained" for m in claim.get("retrained", []))]
        for field in ("contender", "reference"):
            if claim.get("enabled") and name != "multiscale" and claim.get(field) not in compared:
                raise ConfigError(f"experiments.claims.{name}.{field}: {claim.get(field)!r} must be one of its "
                                  f"models (allowed: {', '.join(compared)})")
        for v in claim.get("variants", []) if claim.get("enabled") else []:
            if v not in claim.get("models", []):
                raise ConfigError(f"experiments.claims.{name}.variants: {v!r} must be one of its models, which are "
                                  f"trained and measured (allowed: {', '.join(claim.get('models', []))})")
        for field in ("matrix_res", "retrain_res"):
            for r in claim.get(field, []):
                if r not in ladder:
                    raise ConfigError(f"experiments.claims.{name}.{field}: {r} is not on pdes.{pde}.ladder "
                                      f"(allowed: {', '.join(map(str, ladder))})")
        if any(n > spec["samples"]["train"] for n in claim.get("n_train", [])):
            raise ConfigError(f"experiments.claims.{name}.n_train: sizes must be <= pdes.{pde}.samples.train "
                              f"({spec['samples']['train']})")


def _check_reproduction(cfg: dict[str, Any]) -> None:
    """The optional `reproduction` section names a PDE, rungs of its ladder and defined models."""
    rep = cfg.get("reproduction")
    if not rep:
        return
    if rep["pde"] not in cfg["pdes"]:
        raise ConfigError(f"reproduction.pde: {rep['pde']!r} is not defined "
                          f"(allowed: {', '.join(sorted(cfg['pdes']))})")
    ladder = sorted(cfg["pdes"][rep["pde"]]["ladder"])
    for res in rep["train_res"]:
        if res not in ladder:
            raise ConfigError(f"reproduction.train_res: {res} is not on pdes.{rep['pde']}.ladder "
                              f"(allowed: {', '.join(map(str, ladder))})")
    for key in ("models", "reference"):
        for name in rep.get(key, []):
            if name not in cfg["models"]:
                raise ConfigError(f"reproduction.{key}: {name!r} is not defined "
                                  f"(allowed: {', '.join(sorted(cfg['models']))})")
            if (cfg["models"][name]["type"] == "neuralop_fno") != (key == "reference"):
                raise ConfigError(f"reproduction.{key}: {name!r} has type {cfg['models'][name]['type']!r} "
                                  f"(allowed: type neuralop_fno in reproduction.reference only)")


def run_pdes(cfg: Mapping[str, Any]) -> list[str]:
    """PDE names the default target runs, in config order."""
    chosen = cfg.get("run", {}).get("pdes")
    return list(chosen) if chosen else list(cfg["pdes"])


def run_models(cfg: Mapping[str, Any]) -> list[str]:
    """Model names the default target runs, in config order."""
    chosen = cfg.get("run", {}).get("models")
    return list(chosen) if chosen else list(cfg["models"])


LEARNING_KEYS = ("ladder", "train_res", "models", "training", "seeds", "history")


def data_config(pde: Mapping[str, Any]) -> dict[str, Any]:
    """The part of one PDE's entry its data depend on (keys only training and evaluation read are left out)."""
    return {k: v for k, v in pde.items() if k not in LEARNING_KEYS}


def data_hash(pde: Mapping[str, Any], seed: int) -> str:
    """Hash of what a data file's contents depend on: the PDE's data part and the root seed."""
    return config_hash({"pde": data_config(pde), "seed": int(seed)})


def config_hash(cfg: Mapping[str, Any]) -> str:
    """A short, order-independent hash of a config (for provenance in files and the report)."""
    text = json.dumps(cfg, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class CanonicalDict(dict):
    """A dict whose ``repr`` lists its keys sorted (nested dicts are made canonical by ``canonical``).

    Snakemake decides whether a rule's params changed by comparing their ``repr``; a plain dict's
    repr follows its key order, so a config re-serialized with its keys in another order would rerun
    every job. Iteration keeps the config's own order, and a pickled copy (what a script or a
    checkpoint receives) is a plain dict, so a script reads what it always read.
    """

    def __repr__(self) -> str:
        items = sorted(self.items(), key=lambda kv: repr(kv[0]))
        return "{" + ", ".join(f"{k!r}: {v!r}" for k, v in items) + "}"

    def __reduce__(self) -> tuple:
        return dict, (dict(self),)


def canonical(value: Any) -> Any:
    """``value`` with every mapping inside it (at any depth) turned into a ``CanonicalDict``."""
    if isinstance(value, Mapping):
        return CanonicalDict((k, canonical(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return type(value)(canonical(v) for v in value)
    return value
