# Bootsteps Kit: `make lab` and `make test` each set up .venv on a fresh machine, then run.
# Needs only python3 (>= 3.10) and make. uv is used when on PATH, else bootstrapped into .uv/.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := .uv/bin/uv
UV_DEP := .uv/bin/uv
endif

.PHONY: lab test bench doctor install clean

lab: $(STAMP)  ## JupyterLab on notebooks/ (stop with Ctrl-C)
	$(PY) -m kit lab

test: $(STAMP)  ## the test suite; e.g. make test PYTEST_ARGS="-k gossip -x"
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)  ## the benchmarks
	$(PY) benchmarks/run_all.py

doctor: $(STAMP)  ## what is installed and what to fix
	$(PY) -m kit doctor

install: $(STAMP)

# uv is not on PATH: install it into .uv/ with pip --target (works with Debian's
# externally-managed Python), else through a small bootstrap venv.
.uv/bin/uv:
	@echo "uv not found: installing it into .uv/"
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --target .uv uv \
	|| { rm -rf .uv && $(PYTHON) -m venv .uv && .uv/bin/pip install --quiet uv; } \
	|| { echo "Could not install uv: apt-get install python3-pip python3-venv, then run make again"; exit 1; }

$(PY): | $(UV_DEP)
	$(UV) venv --clear --python "$(PYTHON)" --no-python-downloads $(VENV)

# Installs once; again only when pyproject.toml changes.
$(STAMP): pyproject.toml | $(PY) $(UV_DEP)
	$(UV) pip install --python $(PY) -e '.[test]'
	@touch $@

clean:  ## remove .venv, .uv and caches
	rm -rf $(VENV) .uv .pytest_cache artifacts build *.egg-info
	find . -name __pycache__ -type d -not -path './.venv/*' -prune -exec rm -rf {} +
