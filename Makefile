# Two entry points that work on a fresh machine and are safe to rerun:
#   make demo   converts the bundled Llama-3-8B-shaped skeleton and prints what it holds
#   make test   C++ tests (GoogleTest) and Python tests (pytest)
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
CPP_BUILD := build/cpp
APT_PACKAGES := g++ libprotozero-dev libcli11-dev nlohmann-json3-dev libgtest-dev libssl-dev python3-venv

# torch and torchvision must be a pair that imports together (onnx2torch imports torchvision).
ARCH := $(shell uname -m)
ifeq ($(ARCH),aarch64)
TORCH_PAIR := torch==2.9.1 torchvision==0.24.1
else
TORCH_PAIR := torch==2.14.1 torchvision==0.29.1
endif

# The oldest onnx release supported (pyproject.toml): the Python suite runs against it too, from a
# separate folder placed ahead of the virtual environment's newest onnx on PYTHONPATH.
ONNX_OLDEST := 1.16.2
ONNX_OLDEST_DIR := .cache/onnx-$(ONNX_OLDEST)

.PHONY: help demo test test-cpp test-cmake-package test-python test-python-oldest-onnx coverage system-deps venv python-package cpp bench clean

help:
	@echo "make demo    convert the bundled 8B-parameter skeleton (models/llama3-8b.onnx)"
	@echo "make test    run the C++ and Python test suites (Python: newest and oldest supported onnx)"
	@echo "make coverage  sweep onnx's operator test cases, rewrite docs/coverage.md and its baseline"
	@echo "make bench   time and memory of loading and converting, against onnx and onnx2torch; rewrites docs/benchmarks.md"

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(VENV)/.deps-installed: requirements/dev.txt | system-deps
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH_PAIR)
	$(PIP) install -q -r requirements/dev.txt
	touch $@

venv: system-deps $(VENV)/.deps-installed

# A regular (non-editable) install, as users get it; build/ keeps the CMake tree, so reinstalling
# after a change rebuilds only what changed.
python-package: venv
	$(PIP) install -q --no-build-isolation --no-deps .

cpp: system-deps venv
	PATH="$(abspath $(VENV))/bin:$$PATH" cmake -S . -B $(CPP_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	PATH="$(abspath $(VENV))/bin:$$PATH" cmake --build $(CPP_BUILD)

test-cpp: cpp
	cd $(CPP_BUILD) && PATH="$(abspath $(VENV))/bin:$$PATH" ctest --output-on-failure

# The installed library as another CMake project sees it: install, build examples/cpp against it, run it.
test-cmake-package: cpp
	rm -rf build/install build/example
	PATH="$(abspath $(VENV))/bin:$$PATH" cmake --install $(CPP_BUILD) --prefix build/install >/dev/null
	PATH="$(abspath $(VENV))/bin:$$PATH" cmake -S examples/cpp -B build/example -G Ninja \
	  -DCMAKE_PREFIX_PATH=$(abspath build/install) >/dev/null
	PATH="$(abspath $(VENV))/bin:$$PATH" cmake --build build/example
	build/example/model_summary models/llama3-8b.onnx | tee build/example/summary.txt
	grep -qx 'nodes        2161' build/example/summary.txt
	grep -qx 'parameters   8030310428' build/example/summary.txt
	grep -qx 'MACs         964891246592' build/example/summary.txt

test-python: python-package cpp
	ONNX_WEIGHTLESS_CLI=$(abspath $(CPP_BUILD))/onnx-weightless $(PY) -m pytest -q tests

$(ONNX_OLDEST_DIR)/.installed: | venv
	$(PIP) install -q --no-deps --target $(ONNX_OLDEST_DIR) onnx==$(ONNX_OLDEST)
	touch $@

# Everything but the converter unit tests (tests/test_converters_*.py), which check operator versions
# and element types newer than the oldest onnx against the newest onnx's reference implementation.
test-python-oldest-onnx: python-package cpp $(ONNX_OLDEST_DIR)/.installed
	PYTHONPATH=$(abspath $(ONNX_OLDEST_DIR)) ONNX_WEIGHTLESS_CLI=$(abspath $(CPP_BUILD))/onnx-weightless \
	  $(PY) -m pytest -q -p no:cacheprovider tests --onnx-version=$(ONNX_OLDEST) \
	  --ignore-glob='tests/test_converters_*.py'

test: test-cpp test-cmake-package test-python test-python-oldest-onnx

coverage: python-package
	$(PY) scripts/node_test_coverage.py

# Each measurement in a fresh process; builds the workload models on first use (benchmarks/workloads.py).
bench: python-package
	$(PY) benchmarks/run.py --write-doc

demo: python-package
	$(PY) scripts/demo.py models/llama3-8b.onnx

clean:
	rm -rf build
