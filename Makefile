# Bootsteps Kit: `make lab` and `make test` each set up .venv on a fresh machine, then run.
# Needs only python3 (>= 3.10) and make. uv is used when on PATH, else bootstrapped into .uv/.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=
BENCH_ARGS ?=
# Tests run in parallel (pytest-xdist): most of their time is spent waiting for workers, so three
# processes keep two cores busy; a module marked xdist_group runs in one of them, in order.
# PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= 3
XDIST  = $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadgroup)
# The oldest Celery pyproject.toml claims (celery>=5.5), and the tests that guard it.
OLD_CELERY ?= 5.5.3
OLD_VENV   := .venv-celery-$(OLD_CELERY)
OLD_PY     := $(OLD_VENV)/bin/python
# The other broker-watch tests pin the kit's result resync, a 5.7 path; on 5.5 their results also
# meet Celery's own race of AsyncResult.__del__ against the pub/sub connection (celery#10326).
CORE_TESTS := tests/test_cluster.py tests/blueprints/test_graph.py tests/blueprints/test_snapshot.py \
              tests/events/test_telemetry.py tests/worker/test_probes.py tests/events/test_feed.py \
              tests/worker/test_internals.py tests/test_celery_private.py tests/worker/test_sized_gossip.py \
              tests/test_gossip_timing.py tests/processes/test_readiness.py \
              tests/course/test_claims_blueprints.py tests/course/test_claims_gossip.py \
              tests/worker/test_stuck.py tests/worker/test_instrument.py \
              tests/processes/test_cluster_broker.py \
              tests/processes/test_broker_watch.py::test_a_restarted_redis_runs_after_stop_until_its_owner_closes_it

UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := .uv/bin/uv
UV_DEP := .uv/bin/uv
endif

.PHONY: lab test test-runtime runtime-venv test-oldest-celery oldest-venv bench site doctor install clean

lab: $(STAMP)  ## JupyterLab on notebooks/ (stop with Ctrl-C)
	$(PY) -m kit lab

test: $(STAMP)  ## ruff, then the test suite; e.g. make test PYTEST_ARGS="-k gossip -x"
	$(PY) -m ruff check .
	$(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

runtime-venv: $(STAMP)  ## .venv-runtime: the kit as docker/Dockerfile installs it (its pip line, no extras)
	$(PY) tests/runtime_env.py

test-runtime: runtime-venv  ## every notebook, run by .venv-runtime's python, embedded and beside join workers (compose without Docker)
	$(PY) -m pytest $(XDIST) tests/course/test_runtime_notebooks.py tests/course/test_workshop.py --runtime-env $(PYTEST_ARGS)

test-oldest-celery: $(OLD_VENV)/.installed  ## the core tests on Celery $(OLD_CELERY)
	@$(OLD_PY) -c "import celery; print('celery', celery.__version__)"
	$(OLD_PY) -m pytest $(XDIST) $(CORE_TESTS) $(PYTEST_ARGS)

oldest-venv: $(OLD_VENV)/.installed  ## the venv of test-oldest-celery

$(OLD_VENV)/.installed: pyproject.toml | $(UV_DEP)
	$(UV) venv --clear --python "$(PYTHON)" --no-python-downloads $(OLD_VENV)
	$(UV) pip install --compile-bytecode --python $(OLD_PY) -e '.[test]' 'celery[redis]==$(OLD_CELERY)'
	@touch $@

bench: $(STAMP)  ## the benchmarks; make bench BENCH_ARGS=--strict fails on a missed target
	$(PY) benchmarks/run_all.py $(BENCH_ARGS)

site: $(STAMP)  ## the course as a static site in _site/: every notebook executed, 2 at a time (docs/site/)
	$(PY) docs/site/build.py --out _site --jobs 2

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

# Installs once; again only when pyproject.toml changes. Bytecode is compiled at install, as pip
# does (uv does not by default): every kernel, worker and test process then imports from it.
$(STAMP): pyproject.toml | $(PY) $(UV_DEP)
	$(UV) pip install --compile-bytecode --python $(PY) -e '.[test]'
	@touch $@

clean:  ## remove the venvs, .uv and caches
	rm -rf $(VENV) .venv-runtime .venv-celery-* .uv .pytest_cache artifacts build _site *.egg-info
	find . -name __pycache__ -type d -not -path './.venv/*' -prune -exec rm -rf {} +
