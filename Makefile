# Two entry points for a fresh machine: `make quickstart` (the main job) and `make test`.
# Both create .venv, install the pinned CPU torch and the package, and the Fashion-MNIST data set.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FASHION_MNIST := /usr/share/datasets/fashion-mnist

.PHONY: setup data postgres quickstart test benchmarks

setup: $(VENV)/.installed

# torch==2.13.0 first: on these machines it is a local CPU wheel; a looser requirement would
# pull several GB of CUDA packages. The package's own metadata keeps torch>=2.11.
$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q "torch==2.13.0"
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

# Debian packages where we are root with apt; elsewhere a warning saying what goes without them.
APT_INSTALL = if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1)) >/dev/null \
		|| echo "warning: could not install $(1): $(2)"; \
	else echo "warning: $(1) is not installed and apt-get is not usable here: $(2)"; fi

data:
	@[ -d $(FASHION_MNIST) ] || { $(call APT_INSTALL,dataset-fashion-mnist,Fashion-MNIST runs will report it missing (or pass --data-root DIR)); }

# PostgreSQL server binaries, for the test of a search on a PostgreSQL storage
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { $(call APT_INSTALL,postgresql,the PostgreSQL storage test is skipped); }

# The main job: a small search with retraining on 2 CPU cores, then its front, an exported
# config checked against the test set, and the report (results/quickstart/).
QUICKSTART := studies/quickstart.yaml
quickstart: setup data
	$(VENV)/bin/split-explorer search $(QUICKSTART)
	$(VENV)/bin/split-explorer pareto $(QUICKSTART)
	$(VENV)/bin/split-explorer export $(QUICKSTART) --pick "minimize latency" \
		--output results/quickstart/export/chosen
	$(VENV)/bin/split-explorer check results/quickstart/export/chosen/config.json
	$(VENV)/bin/split-explorer report $(QUICKSTART)

test: setup data postgres
	$(PY) -m pytest -q

benchmarks: setup
	$(PY) benchmarks/profile_speed.py
	$(PY) benchmarks/cost_speed.py
	$(PY) benchmarks/startup.py
