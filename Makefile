# The course's commands. `make help` lists them.
# Everything runs from .venv, created from the pinned requirements.txt on first use.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BROWSER_STAMP := $(VENV)/.browser-installed
# Linux with no display: JupyterLab must not try to start a (text) browser.
NO_BROWSER := $(if $(filter Linux,$(shell uname -s)),$(if $(DISPLAY)$(WAYLAND_DISPLAY),,--no-browser))
# Containers often run as root, which JupyterLab refuses unless told.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
PYTEST_WORKERS ?= 2
# make test: more workers than cores, since many of its tests mostly wait (the browser, cell time
# limits, Slurm jobs, the grading service's polling)
TEST_WORKERS ?= 4

.DEFAULT_GOAL := help
.PHONY: help venv lab test check test-lessons test-browser sandbox-tools lint notebooks release release-exchange collect grade release-feedback grade-service grade-slurm bench clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

venv: $(STAMP) ## create .venv from requirements.txt (done by every target that needs it)

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (nbgrader 0.9.6 requires it); found " + sys.version.split()[0] + ". Run: make PYTHON=python3.11 ...")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

lab: $(STAMP) ## open the course in JupyterLab (prints the URL; no browser on a headless machine)
	$(VENV)/bin/jupyter lab $(NO_BROWSER) $(ALLOW_ROOT) --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/lessons

# Each file goes whole to one worker, the longest first (conftest.py): the browser tests' one file
# (one JupyterLab) starts at once and runs while the other workers take the rest.
test: $(BROWSER_STAMP) lint sandbox-tools ## run every check: lint, hygiene, nbval on the lessons, unit, grading and browser tests
	$(PY) -m browser_tests.ensure_chromium
	$(PY) -m pytest -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile \
		--nbval --nbval-sanitize-with tests/nbval_sanitize.cfg \
		browser_tests lessons tests autograder/tests

check: $(STAMP) lint sandbox-tools ## everyday checks: lint, hygiene, nbval, unit tests and one graded class (no slow tests)
	$(PY) -m pytest -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile -m "not slow" \
		--nbval --nbval-sanitize-with tests/nbval_sanitize.cfg \
		lessons tests autograder/tests

test-lessons: $(STAMP) ## only nbval on the lessons' stored outputs
	$(PY) -m pytest -p no:cacheprovider --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg lessons

$(BROWSER_STAMP): $(STAMP) requirements-browser.txt
	$(PY) -m pip install --quiet -r requirements-browser.txt
	touch $@

test-browser: $(BROWSER_STAMP) ## drive JupyterLab in a real Chromium: lessons, an exercise, nbgrader (screenshots/)
	$(PY) -m browser_tests.ensure_chromium
	$(PY) -m pytest -p no:cacheprovider browser_tests

lint: $(STAMP) ## ruff over .py files and notebooks, plus the notebook hygiene check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m tools.notebook_hygiene

notebooks: $(STAMP) ## re-execute the lessons in place to refresh their stored outputs
	$(PY) -m tools.run_notebooks lessons/*.ipynb

release: $(STAMP) ## regenerate exercises/ from solutions/ with nbgrader
	$(PY) -m autograder.release

grade: $(STAMP) sandbox-tools ## grade a class: make grade SUBMISSIONS=DIR|EXPORT.zip [STUDENT=id] [ASSIGNMENT=a] [FRESH=1] [WORKERS=N] [SHARD=i/n] [CELL_TIMEOUT=60] [BUDGET=240] (default: the demo class)
	$(PY) -m autograder.grading $(if $(SUBMISSIONS),--submissions "$(SUBMISSIONS)") \
		$(if $(STUDENT),--student "$(STUDENT)") $(if $(ASSIGNMENT),--assignment "$(ASSIGNMENT)") \
		$(if $(FRESH),--fresh) $(if $(WORKERS),--workers $(WORKERS)) $(if $(SHARD),--shard $(SHARD)) \
		$(if $(CELL_TIMEOUT),--cell-timeout $(CELL_TIMEOUT)) $(if $(BUDGET),--budget $(BUDGET))

grade-slurm: $(STAMP) sandbox-tools ## grade a class as a Slurm array, then merge: make grade-slurm SUBMISSIONS=DIR SHARDS=N [LOCAL_SLURM=1] [CPUS_PER_TASK=2] [WORKERS=N] [FRESH=1] [CELL_TIMEOUT=60] [BUDGET=240] [SBATCH_ARGS="--partition=p"]
	$(PY) -m autograder.slurm submit $(if $(SUBMISSIONS),--submissions "$(SUBMISSIONS)") --shards $(or $(SHARDS),4) \
		$(if $(filter-out 0,$(LOCAL_SLURM)),--local) $(if $(CPUS_PER_TASK),--cpus-per-task $(CPUS_PER_TASK)) \
		$(if $(WORKERS),--workers $(WORKERS)) $(if $(FRESH),--fresh) \
		$(if $(CELL_TIMEOUT),--cell-timeout $(CELL_TIMEOUT)) $(if $(BUDGET),--budget $(BUDGET)) \
		$(if $(SBATCH_ARGS),--sbatch-args '$(SBATCH_ARGS)')

release-exchange: $(STAMP) ## release the exercises to students through nbgrader's exchange: [ASSIGNMENT=a]
	$(PY) -m autograder.exchange release $(if $(ASSIGNMENT),--assignment "$(ASSIGNMENT)")

collect: $(STAMP) ## collect the latest submissions from the exchange into grading/submitted/: [ASSIGNMENT=a]
	$(PY) -m autograder.exchange collect $(if $(ASSIGNMENT),--assignment "$(ASSIGNMENT)")

release-feedback: $(STAMP) ## send the feedback pages of make grade back through the exchange: [ASSIGNMENT=a] [STUDENT=id]
	$(PY) -m autograder.exchange release_feedback $(if $(ASSIGNMENT),--assignment "$(ASSIGNMENT)") $(if $(STUDENT),--student "$(STUDENT)")

grade-service: $(STAMP) sandbox-tools ## grade each submission as it arrives in the exchange and release its feedback (foreground): [WORKERS=N]
	$(PY) -m autograder.service $(if $(WORKERS),--workers $(WORKERS)) \
		$(if $(CELL_TIMEOUT),--cell-timeout $(CELL_TIMEOUT)) $(if $(BUDGET),--budget $(BUDGET))

bench: $(STAMP) sandbox-tools ## grade generated classes (7 and 40 students) with this engine and plain nbgrader; print ratios, floor, merge, regrade
	$(PY) -m autograder.bench $(if $(STUDENTS),--students $(STUDENTS))

sandbox-tools: ## install bubblewrap, the grading sandbox, when it is missing (and we are root)
	$(PY) -m tools.system_packages bwrap bubblewrap "the grading sandbox (make grade, make test)"

clean: ## remove .venv, grading/ and caches
	rm -rf $(VENV) grading .cache .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name .ipynb_checkpoints -type d -prune -exec rm -rf {} +
