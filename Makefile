# The two set-up commands: `make run` (server with the bundled sample knowledge base) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
export QINGSONG_HOME ?= var

.PHONY: install run test lint unit bench eval embed-pack clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: install
	$(BIN)/qingsong serve --bootstrap

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

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
