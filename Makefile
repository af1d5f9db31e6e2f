# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CORES  ?= all
CONFIG ?=
SNAKEMAKE_ARGS := $(if $(CONFIG),--configfile $(CONFIG),)

.PHONY: venv run claims test lint bench clean

venv: $(VENV)/.installed

# torch first and explicitly: the local CPU wheel, never the multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[workflow,cluster,dev]"
	touch $@

run: venv
	$(BIN)/snakemake --cores $(CORES) $(SNAKEMAKE_ARGS)
	@echo "Report: $(CURDIR)/results/report/index.html"

# The full claims protocol (configs/claims.yaml): 50 min measured on a shared 2-core CPU, see its header.
claims: venv
	$(BIN)/snakemake --cores $(CORES) --configfile configs/claims.yaml $(SNAKEMAKE_ARGS)
	@echo "Report: $(CURDIR)/results/report/index.html"

lint: venv
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint --configfile configs/smoke.yaml

# The `bench` extra (neuraloperator, the reproduction's reference) for the tests only: with it the
# reference rule's test runs for real in CI instead of being skipped (~1 min of install, once).
$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[bench]"
	touch $@

# SLURM (for the real-scheduler tests) and chromium (for the report page's browser test) are
# installed when we are root, as in CI.
test: venv $(VENV)/.bench-installed
	@if [ "$$(id -u)" = "0" ] && [ -x .ci/install_slurm.sh ]; then bash .ci/install_slurm.sh; \
	 else echo "not root: SLURM tests will be skipped unless slurm-wlm and munge are installed"; fi
	@if [ "$$(id -u)" = "0" ] && [ -x .ci/install_chromium.sh ]; then bash .ci/install_chromium.sh; \
	 else echo "not root: the browser test will be skipped unless chromium is installed"; fi
	$(MAKE) lint
	$(BIN)/python -m pytest -ra

bench: venv
	$(BIN)/python benchmarks/bench_burgers.py

clean:
	rm -rf results logs benchmarks/out .snakemake
