# Two commands do everything on a fresh machine: `make demo` and `make test`.
# They create .venv (PyPI ROS 2 wheels, CPU torch held by constraints.txt, this package) when needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PIP_INSTALL := $(PY) -m pip install -q --disable-pip-version-check -c constraints.txt
PYTEST_ARGS ?=

.PHONY: venv demo test test-all bench clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-ros.txt constraints.txt setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements.txt -r requirements-ros.txt 2>&1 | grep -v "^WARNING: Location" || true
	$(PIP_INSTALL) --no-deps -e . 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -c "import torch, rclpy, diffusers, mujoco, dil_ros" 
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/dil-ros demo $(DEMO_ARGS)

# `make test` skips tests marked slow (AOTInductor compiles take minutes); `make test-all` runs them.
# pytest exits 5 when it collects nothing; that is not a failure.
test: $(STAMP)
	$(PY) -m pytest -q -m "not slow" --durations=10 $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

test-all: $(STAMP)
	$(PY) -m pytest -q --durations=10 $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

bench: $(STAMP)
	$(VENV)/bin/dil-ros bench $(BENCH_ARGS)

clean:
	rm -rf runs build install log
