# Every target creates and uses the project's virtual environment in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test check format bench soak serve clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: replay samples/vtest.avi through the embedded people detector into out/
demo: $(STAMP)
	$(BIN)/streamer -v run configs/demo.yaml

## test: the test suite (real servers on loopback; see README for what it needs)
test: $(STAMP)
	$(BIN)/python -m pytest

## check: lint, format check and strict typing
check: $(STAMP)
	$(BIN)/ruff check streamer tests bench
	$(BIN)/ruff format --check streamer tests bench
	$(BIN)/mypy streamer

format: $(STAMP)
	$(BIN)/ruff format streamer tests bench
	$(BIN)/ruff check --fix streamer tests bench

## bench: throughput, stage costs, live lag and memory (about 12 min; bench/out/, docs/bench/)
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench

## soak: a 10-minute looping RTSP run; its memory slope goes to docs/bench/soak.md
soak: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.soak --minutes 10

## serve: the embedded people detector on 127.0.0.1:8000
serve: $(STAMP)
	$(BIN)/streamer serve --model people --port 8000

clean:
	rm -rf out bench/out .pytest_cache .mypy_cache .ruff_cache
