# The single entry point. `make demo` = the README's first command; `make test` = its second.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export CODEGRAPH_HOME ?= $(CURDIR)/.codegraph
export DAGSTER_HOME ?= $(CODEGRAPH_HOME)/dagster

.PHONY: setup demo test ui clean bench

# torch goes first and pinned: a bare torch requirement pulls a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev,onnx]'
	touch $@

setup: $(VENV)/.installed

# Index this repository and search it, on the embedded default (SQLite, Tantivy, Qdrant local, MiniLM).
demo: setup
	$(VENV)/bin/codegraph index . --repo codegraph
	$(VENV)/bin/codegraph search "retry transient errors with backoff" --repo codegraph --limit 5

test: setup
	$(PY) -m pytest -q

# Every benchmark of the README's Benchmarks section, one after the other (about 20 minutes on the 2-core
# machine): stage throughput with the ONNX backends beside torch, the LlamaIndex peer, and the incremental
# re-index; corpus attrs 25.4.0 from PyPI (and 25.3.0 for the incremental one) plus the CPython stdlib.
bench: setup
	$(PY) -m pip install --quiet -c requirements.lock -e '.[bench]'
	$(PY) bench/pipeline.py --backends onnx,onnx-int8 --backend-sample 600
	$(PY) bench/peer_llamaindex.py --backends torch,onnx-int8
	$(PY) bench/incremental.py

# The Dagster UI on the embedded instance, with this repo's dagster.yaml.
ui: setup
	mkdir -p $(DAGSTER_HOME) && cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/dagster dev -w workspace.yaml

clean:
	rm -rf $(CODEGRAPH_HOME)
