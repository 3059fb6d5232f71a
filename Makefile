# One entry point for a fresh machine: every target creates .venv on first use.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pip warns once per package about local index folders some machines lack; keep the log readable.
PIP_QUIET := grep -v "is neither a file nor a directory" || true

.PHONY: install train classifier test test-fast test-faults test-readme test-learns bench lint format clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]' 2>&1 | ($(PIP_QUIET))
	$(BIN)/python -c "import gans, torch, lightning, hydra, wandb"
	touch $(STAMP)

train: $(STAMP)
	$(BIN)/python -m gans.train $(ARGS)

# Retrain the metrics classifier shipped for data=mnist (the built-in digits) in place.
classifier: $(STAMP)
	$(BIN)/python -m gans.train_classifier data=mnist +retrain=true metrics.cache_dir=gans/metrics/pretrained
	chmod a+r gans/metrics/pretrained/*.pt

bench: $(STAMP)
	$(BIN)/python benchmarks/throughput.py $(ARGS)

test: $(STAMP)
	WANDB_MODE=offline $(BIN)/python -m pytest -m "not faults and not readme and not learns" $(PYTEST_ARGS)

# The inner loop's tier: the default suite less the tests tests/slow.txt lists (over 1.5 s each on
# 2 cores; rewrite the list with tests/slow_tests.py from a run with --durations=0). CI runs make test.
test-fast: $(STAMP)
	WANDB_MODE=offline $(BIN)/python -m pytest -m "not slow and not faults and not readme and not learns" -q $(PYTEST_ARGS)

# Every python -m gans.* command in the README, run shortened (about 3 minutes); its own CI step.
test-readme: $(STAMP)
	WANDB_MODE=offline $(BIN)/python -m pytest -m readme tests/test_readme.py $(PYTEST_ARGS)

# Fault injection (tests/faults/): killed runs resumed, a dead loader worker, a full disk, NaN
# injected, damaged checkpoints. Slower; CI runs it as its own step.
test-faults: $(STAMP)
	WANDB_MODE=offline $(BIN)/python -m pytest -m faults tests/faults $(PYTEST_ARGS)

# Real training runs that must learn (tests/regression/: cdcgan's labels); minutes; own CI step.
test-learns: $(STAMP)
	WANDB_MODE=offline $(BIN)/python -m pytest -m learns tests/regression $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check gans tests experiments benchmarks
	$(BIN)/ruff format --check gans tests experiments benchmarks

format: $(STAMP)
	$(BIN)/ruff check --fix gans tests experiments benchmarks
	$(BIN)/ruff format gans tests experiments benchmarks

clean:
	rm -rf $(VENV) outputs multirun wandb lightning_logs .pytest_cache .ruff_cache *.egg-info
