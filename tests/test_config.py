"""Config validation: every mistake is one line naming the key and what is allowed."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from opbench.config import ConfigError, config_hash, load_schema, validate_config
from opbench.solvers import pde_types

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


@pytest.fixture(scope="module")
def base() -> dict:
    return _load("configs/smoke.yaml")


@pytest.mark.parametrize("name", ["config.yaml", "configs/smoke.yaml", "configs/paper.yaml", "configs/claims.yaml"])
def test_shipped_configs_validate(name: str) -> None:
    if not (ROOT / name).exists():
        pytest.skip(f"{name} not present")
    cfg = validate_config(_load(name))
    assert cfg["data"]["chunk_size"] >= 1  # defaults filled


def test_defaults_are_filled(base: dict) -> None:
    cfg = copy.deepcopy(base)
    del cfg["training"]["lr"]
    del cfg["data"]
    out = validate_config(cfg)
    assert out["training"]["lr"] == 1e-3
    assert out["data"]["scheduler"] == "processes"
    assert out["data"]["memory_budget_mb"] == 2048
    assert "lr" not in cfg["training"]  # the input is not mutated


def _mutate(cfg: dict, path: list, value=None, delete: bool = False) -> dict:
    cfg = copy.deepcopy(cfg)
    node = cfg
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return cfg


CASES = [
    (["colour"], "blue", False, ["unknown key 'colour'", "(top level)", "allowed keys"]),
    (["pdes", "burgers", "params", "mu"], 0.1, False, ["unknown key 'mu'", "pdes.burgers.params", "nu"]),
    (["pdes", "burgers", "params", "nu"], "abc", False, ["pdes.burgers.params.nu", "expected number"]),
    (["pdes", "burgers", "params", "nu"], -0.1, False, ["pdes.burgers.params.nu", "out of range", "> 0"]),
    (["pdes", "heat", "fine_res"], 4, False, ["pdes.heat.fine_res", ">= 8"]),
    (["pdes", "burgers", "ladder"], [16, 24, 64], False, ["pdes.burgers.ladder", "24", "fine_res 128"]),
    (["pdes", "heat", "train_res"], 128, False, ["pdes.heat.train_res", "not on the ladder", "16, 32, 64"]),
    (["pdes", "heat", "type"], "wave", False, ["pdes.heat.type", "'wave'", "heat", "burgers"]),
    (["models", "fno", "type"], "gpt", False, ["models.fno.type", "'gpt'", "fno", "transformer"]),
    (["models", "fno", "modes"], None, True, ["missing key 'modes'", "models.fno"]),
    (["training", "epochs"], 0, False, ["training.epochs", ">= 1"]),
    (["training", "seeds"], [], False, ["training.seeds"]),
    (["data", "dtype"], "float16", False, ["data.dtype", "float32", "float64"]),
    (["run"], {"models": ["bert"]}, False, ["run.models", "'bert'", "fno"]),
    (["pdes", "Bad-Name"], {}, False, ["pdes", "'Bad-Name'", "must match"]),
    (["models", "transformer", "patch"], 3, False, ["models.transformer.patch", "3", "ladder"]),
    (["run"], {"pdes": ["wave"]}, False, ["run.pdes", "'wave'", "burgers"]),
    (["training", "batch_size"], "four", False, ["training.batch_size", "expected integer", "'four'"]),
    (["training", "checkpoint_every"], -1, False, ["training.checkpoint_every", "out of range", ">= 0"]),
    (["pdes", "burgers", "grf", "sigma"], None, True, ["missing key 'sigma'", "pdes.burgers.grf"]),
    (["report", "examples"], 0, False, ["report.examples", ">= 1"]),
    (["title"], ["<b>", "list"], False, ["title", "expected string"]),
    (["pdes", "burgers", "solver", "dt"], 0, False, ["pdes.burgers.solver.dt", "> 0"]),
]


@pytest.mark.parametrize(("path", "value", "delete", "expected"), CASES, ids=[".".join(c[0]) for c in CASES])
def test_bad_config_gives_one_clear_line(base: dict, path, value, delete, expected) -> None:
    with pytest.raises(ConfigError) as info:
        validate_config(_mutate(base, path, value, delete))
    message = str(info.value)
    assert "\n" not in message
    for fragment in expected:
        assert fragment in message, (fragment, message)


def test_schema_types_match_registries() -> None:
    from opbench.models import model_names

    defs = load_schema()["$defs"]
    # PDE types are not listed in the schema (a registered PDE needs no schema edit): config checks them
    assert "enum" not in defs["pde"]["properties"]["type"]
    assert {"heat", "burgers", "darcy", "navier_stokes"} <= set(pde_types())
    assert sorted(defs["model"]["properties"]["type"]["enum"]) == sorted(model_names())


def test_model_keys_are_the_constructor_signature(base: dict) -> None:
    """A key the model's constructor lacks is refused in one line naming the model, the key and the
    constructor's keyword arguments; the schema's per-model blocks no longer list allowed keys."""
    from opbench.models.registry import model_options

    assert model_options("mlp") == ["hidden", "layers"]
    assert "d_model" in model_options("transformer") and "grid" not in model_options("transformer")
    defs = load_schema()["$defs"]
    assert all("additionalProperties" not in block["then"] for block in defs["model"]["allOf"])
    model = next(m for m, v in base["models"].items() if v["type"] == "fno")
    with pytest.raises(ConfigError) as err:
        validate_config(_mutate(base, ["models", model, "modez"], 8))
    message = str(err.value)
    assert "\n" not in message
    for fragment in ("unknown key 'modez'", f"models.{model}", "model type fno", "allowed keys", "modes", "width"):
        assert fragment in message, (fragment, message)
    with pytest.raises(ConfigError, match=f"unknown key 'grid' in models.{model}"):  # derived from the data
        validate_config(_mutate(base, ["models", model, "grid"], [64]))


def test_pde_params_are_typed_and_checked(base: dict) -> None:
    """The PDE's parameter dataclass is the check of its ``params`` (the schema need not list them)."""
    from opbench.solvers import get_pde
    from opbench.solvers.burgers import BurgersParams

    name = next(p for p, v in base["pdes"].items() if v["type"] == "burgers")
    entry = validate_config(base)["pdes"][name]
    params = get_pde("burgers").parameters(entry)
    assert isinstance(params, BurgersParams) and params.nu == float(entry["params"]["nu"])
    with pytest.raises(AttributeError):
        params.nu = 1.0  # frozen
    bad = {**entry, "params": {**entry["params"], "mu": 0.1}}
    with pytest.raises(ValueError, match="unknown key 'mu'.*allowed keys: T, nu"):
        get_pde("burgers").parameters(bad)
    with pytest.raises(ValueError, match="missing key 'dt'"):
        get_pde("burgers").parameters({**entry, "solver": {}})


def test_config_hash_ignores_key_order(base: dict) -> None:
    reordered = dict(reversed(list(base.items())))
    assert config_hash(base) == config_hash(reordered)
    assert config_hash(base) != config_hash(_mutate(base, ["seed"], 99))


def test_snakemake_refuses_bad_config_before_any_job(tmp_path: Path, base: dict) -> None:
    bad = _mutate(base, ["pdes", "burgers", "params", "nu"], -1.0)
    cfg_file = tmp_path / "bad.yaml"
    cfg_file.write_text(yaml.safe_dump(bad))
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
         "--configfile", str(cfg_file), "--cores", "1"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if "opbench config error" in ln]
    assert len(lines) == 1 and "pdes.burgers.params.nu" in lines[0], proc.stderr
    assert not (tmp_path / "results").exists()
    assert not (tmp_path / "logs").exists()


def test_the_protocols_meet_issue_11s_minimums() -> None:
    """Default: a reduced protocol of >= 5 seeds, >= 2 budgets, the plain Transformer beside >= 2
    variants; configs/claims.yaml: the full protocol with >= 3 budgets and claims off heat."""
    for name, protocol, n_budgets in (("config.yaml", "reduced", 2), ("configs/claims.yaml", "full", 3)):
        exp = validate_config(_load(name))["experiments"]
        assert exp["protocol"] == protocol and len(exp["seeds"]) >= 5 and len(exp["budgets"]) >= n_budgets
        d = exp["claims"]["discretization"]
        assert d["contender"] == "transformer" and len(d["variants"]) >= 2
        assert all(exp["models"][v]["type"] == "transformer" for v in d["variants"])
    assert validate_config(_load("configs/claims.yaml"))["experiments"]["also_pdes"] == ["burgers"]


def test_canonical_params_compare_by_content_not_key_order() -> None:
    """Snakemake compares rule params by repr: two orders of the same mapping must read the same,
    a changed value must not, and a script still iterates the config's own order."""
    import pickle

    from opbench.config import canonical

    a = canonical({"params": {"nu": 0.1, "T": 1.0}, "ladder": [64, 32], "grf": {"tau": 5.0, "alpha": 2.0}})
    b = canonical({"grf": {"alpha": 2.0, "tau": 5.0}, "ladder": [64, 32], "params": {"T": 1.0, "nu": 0.1}})
    assert repr(a) == repr(b) and a == b
    assert repr(canonical({"params": {"nu": 0.2, "T": 1.0}})) != repr(canonical({"params": {"nu": 0.1, "T": 1.0}}))
    assert repr(canonical({"ladder": [32, 64]})) != repr(canonical({"ladder": [64, 32]}))  # lists keep their order
    assert list(a) == ["params", "ladder", "grf"] and list(a["params"]) == ["nu", "T"]
    again = pickle.loads(pickle.dumps(a))  # how Snakemake hands params to a script (and torch.save a checkpoint)
    assert again == a and type(again) is dict and type(again["params"]) is dict and list(again) == list(a)
