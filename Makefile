# Two entry points that work on a fresh machine and are safe to rerun:
#   make demo   converts the bundled Llama-3-8B-shaped skeleton and prints what it holds
#   make test   C++ tests (GoogleTest, also under ASan/UBSan), a short fuzzing pass, Python tests (pytest)
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
CPP_BUILD := build/cpp
APT_PACKAGES := g++ libprotozero-dev libcli11-dev nlohmann-json3-dev libgtest-dev libssl-dev python3-venv \
  libprotobuf-dev protobuf-compiler curl
# Only the fuzz targets need these (clang and its libFuzzer runtime); `make demo` does not.
FUZZ_APT_PACKAGES := clang libclang-rt-dev
# Only the Python tests need this: the HTML report is opened in headless Chromium (tests/test_report.py).
TEST_APT_PACKAGES := chromium

# Every Python package comes from a lock with exact versions and hashes, one per machine type
# (requirements/dev.in says what is locked; `make lock` regenerates the locks). torch and
# torchvision are locked as the pair that imports together on each machine type.
ARCH := $(shell uname -m)
PYTHON ?= python3
LOCK_PYTHON := 3.11
LOCK := requirements/lock-$(ARCH).txt
LOCK_ONNX_OLDEST := requirements/lock-onnx-oldest.txt
LOCK_PLATFORMS := x86_64 aarch64
UV_COMPILE = $(VENV)/bin/uv pip compile --quiet --upgrade --generate-hashes --python-version $(LOCK_PYTHON) \
  --custom-compile-command "make lock"

# The oldest onnx release supported (pyproject.toml; locked in $(LOCK_ONNX_OLDEST)): the Python suite
# runs against it too, from a separate folder placed ahead of the virtual environment's newest onnx.
ONNX_OLDEST := $(shell sed -n 's/^onnx==\([0-9.]*\).*/\1/p' $(LOCK_ONNX_OLDEST))
ONNX_OLDEST_DIR := .cache/onnx-$(ONNX_OLDEST)

# ONNX's C++ library, for the CLI's shape inference: built from the onnx source distribution of the
# version the lock pins (its hash checked against the lock), against Debian's protobuf.
ONNX_NEWEST := $(shell sed -n 's/^onnx==\([0-9.]*\).*/\1/p' $(LOCK))
ONNX_CPP_DIR := .cache/onnx-cpp-$(ONNX_NEWEST)
ONNX_CPP_PREFIX := $(abspath $(ONNX_CPP_DIR))/install

# Fuzzing (docs/fuzzing.md): libFuzzer targets under ASan+UBSan, run one after the other.
FUZZ_BUILD := build/fuzz
FUZZ_DIR := .cache/fuzz
FUZZ_TARGETS := fuzz_scan fuzz_skeleton
FUZZ_SECONDS := 900
FUZZ_SMOKE_SECONDS := 45
FUZZ_OPTIONS := -max_len=1048576 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
SANITIZE_BUILD := build/sanitize

.PHONY: help demo test lock onnx-cpp wild-corpus test-cpp test-sanitize test-cmake-package test-python test-python-oldest-onnx coverage system-deps fuzz-system-deps test-system-deps venv python-package cpp fuzz-build fuzz-seeds fuzz fuzz-smoke fuzz-pipeline fuzz-pipeline-smoke bench clean

help:
	@echo "make demo    convert the bundled 8B-parameter skeleton (models/llama3-8b.onnx)"
	@echo "make test    run the C++ and Python test suites (Python: newest and oldest supported onnx)"
	@echo "make fuzz    run each libFuzzer target for FUZZ_SECONDS (default $(FUZZ_SECONDS)); fuzz-smoke: $(FUZZ_SMOKE_SECONDS) s each"
	@echo "make fuzz-pipeline  mutated real files through scan, load, inspect, convert, meta_forward, export, materialize for FUZZ_SECONDS"
	@echo "make test-sanitize  the C++ tests under AddressSanitizer and UBSan"
	@echo "make lock    re-resolve every Python package to the newest version within requirements/dev.in and pyproject.toml"
	@echo "make wild-corpus  regenerate tests/wild/ (ONNX files made by onnxruntime-genai, optimum, spox, skl2onnx, tf2onnx, paddle2onnx, onnxscript, the TorchScript exporter)"
	@echo "make coverage  sweep onnx's operator test cases, rewrite docs/coverage.md and its baseline"
	@echo "make export-sweep  every architecture fixture (both opsets and layouts) through ow.export at three sizes per symbol, and torch.compile"
	@echo "make bench   time and memory of loading and converting, against onnx and onnx2torch; rewrites docs/benchmarks.md"
	@echo "make onnx-cpp  build ONNX's C++ library (the CLI's shape inference) from the onnx sdist the lock pins; make cpp runs it"

# Installs those of the Debian packages $(1) that are missing.
define apt_install
@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

system-deps:
	$(call apt_install,$(APT_PACKAGES))

fuzz-system-deps: system-deps
	$(call apt_install,$(FUZZ_APT_PACKAGES))

test-system-deps: system-deps
	$(call apt_install,$(TEST_APT_PACKAGES))

# A lock that changed gives a new virtual environment, so that nothing the lock dropped stays behind.
$(VENV)/.deps-installed: $(LOCK) | system-deps
	@test -f $(LOCK) || { echo "no lock for this machine type ($(ARCH)): add it to LOCK_PLATFORMS and run make lock"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != tuple(map(int, "$(LOCK_PYTHON)".split("."))))' || \
	  { echo "the locks are for Python $(LOCK_PYTHON): run make with PYTHON=python$(LOCK_PYTHON), or change LOCK_PYTHON and run make lock"; exit 1; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --require-hashes --no-deps -r $(LOCK)
	touch $@

venv: system-deps $(VENV)/.deps-installed

# A regular (non-editable) install, as users get it; build/ keeps the CMake tree, so reinstalling
# after a change rebuilds only what changed.
python-package: venv $(ONNX_CPP_DIR)/.installed
	$(PIP) install -q --no-build-isolation --no-deps -C cmake.define.ONNX_WEIGHTLESS_SHAPE_INFERENCE=ON \
	  -C cmake.define.CMAKE_PREFIX_PATH=$(ONNX_CPP_PREFIX) .

# About 1.5 min on 2 cores, once per onnx version.
$(ONNX_CPP_DIR)/.installed: $(LOCK) scripts/build_onnx_cpp.sh | system-deps venv
	PATH="$(abspath $(VENV))/bin:$$PATH" scripts/build_onnx_cpp.sh $(LOCK) $(ONNX_CPP_PREFIX)
	touch $@

onnx-cpp: $(ONNX_CPP_DIR)/.installed

cpp: system-deps venv $(ONNX_CPP_DIR)/.installed
	PATH="$(abspath $(VENV))/bin:$$PATH" cmake -S . -B $(CPP_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_PREFIX_PATH=$(ONNX_CPP_PREFIX) >/dev/null
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

test-python: test-system-deps python-package cpp
	ONNX_WEIGHTLESS_CLI=$(abspath $(CPP_BUILD))/onnx-weightless $(PY) -m pytest -q tests

$(ONNX_OLDEST_DIR)/.installed: $(LOCK_ONNX_OLDEST) | venv
	rm -rf $(ONNX_OLDEST_DIR)
	$(PIP) install -q --require-hashes --no-deps --target $(ONNX_OLDEST_DIR) -r $(LOCK_ONNX_OLDEST)
	touch $@

# Everything but the converter unit tests (tests/test_converters_*.py), which check operator versions
# and element types newer than the oldest onnx against the newest onnx's reference implementation, and
# the export and compile sweeps of the corpora, which exercise torch's tracing, not onnx (they run once,
# with the newest onnx; tests/test_export.py runs with both), and the comparisons of the CLI's figures
# with Python's (cli_parity), as the CLI carries the newest onnx's shape inference.
test-python-oldest-onnx: test-system-deps python-package cpp $(ONNX_OLDEST_DIR)/.installed
	PYTHONPATH=$(abspath $(ONNX_OLDEST_DIR)) ONNX_WEIGHTLESS_CLI=$(abspath $(CPP_BUILD))/onnx-weightless \
	  $(PY) -m pytest -q -p no:cacheprovider tests --onnx-version=$(ONNX_OLDEST) \
	  --ignore-glob='tests/test_converters_*.py' --ignore=tests/test_export_corpus.py --ignore=tests/test_compile.py \
	  --ignore=tests/test_export_architectures.py -m "not cli_parity"

# The core library and core_tests with ASan and UBSan (gcc's runtimes); any report fails the run.
test-sanitize: system-deps venv
	PATH="$(abspath $(VENV))/bin:$$PATH" cmake -S . -B $(SANITIZE_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DONNX_WEIGHTLESS_SANITIZE=ON -DONNX_WEIGHTLESS_BUILD_CLI=OFF >/dev/null
	PATH="$(abspath $(VENV))/bin:$$PATH" cmake --build $(SANITIZE_BUILD) --target core_tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(SANITIZE_BUILD)/core_tests --gtest_brief=1

fuzz-build: fuzz-system-deps venv
	PATH="$(abspath $(VENV))/bin:$$PATH" cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_CXX_COMPILER=clang++ -DONNX_WEIGHTLESS_BUILD_FUZZERS=ON -DONNX_WEIGHTLESS_BUILD_TESTS=OFF \
	  -DONNX_WEIGHTLESS_BUILD_CLI=OFF >/dev/null
	PATH="$(abspath $(VENV))/bin:$$PATH" cmake --build $(FUZZ_BUILD) --target $(FUZZ_TARGETS)

# The seeds include the bundled model's skeleton, written by the CLI.
$(FUZZ_DIR)/seeds.stamp: scripts/fuzz_seed_corpus.py models/llama3-8b.onnx $(LOCK) | cpp
	$(PY) scripts/fuzz_seed_corpus.py --out $(FUZZ_DIR)/seeds --cli $(CPP_BUILD)/onnx-weightless
	touch $@

fuzz-seeds: $(FUZZ_DIR)/seeds.stamp

# $(call run_fuzzers,SECONDS[,merge]): for each target, first replays its earlier findings (one that
# still reproduces fails), then fuzzes for SECONDS from its working corpus and the seeds, and prints
# libFuzzer's "Done N runs in S second(s)" and the corpus size. A new finding (crash-, leak-,
# timeout-, oom-) is written to $(FUZZ_DIR)/findings/<target>-* and fails the run. With `merge`,
# the working corpus is then minimised (libFuzzer -merge=1), so that later runs start quickly.
define run_fuzzers
@mkdir -p $(FUZZ_DIR)/findings; status=0; \
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t; \
	  old=$$(ls -d $(FUZZ_DIR)/findings/$$t-* 2>/dev/null); \
	  if [ -n "$$old" ] && ! $(FUZZ_BUILD)/$$t $(FUZZ_OPTIONS) $$old > $(FUZZ_DIR)/$$t-replay.log 2>&1; then \
	    echo "$$t: an earlier finding still reproduces (log: $(FUZZ_DIR)/$$t-replay.log)"; status=1; \
	  fi; \
	  echo "$$t: fuzzing for $(1) s (log: $(FUZZ_DIR)/$$t.log)"; \
	  if ! $(FUZZ_BUILD)/$$t $(FUZZ_OPTIONS) -max_total_time=$(1) -artifact_prefix=$(FUZZ_DIR)/findings/$$t- \
	      $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/seeds > $(FUZZ_DIR)/$$t.log 2>&1; then \
	    tail -n 30 $(FUZZ_DIR)/$$t.log; status=1; \
	  fi; \
	  grep -E '^Done [0-9]+ runs' $(FUZZ_DIR)/$$t.log | sed "s/^/$$t: /"; \
	  if [ "$(2)" = merge ]; then \
	    echo "$$t: corpus $$(ls $(FUZZ_DIR)/corpus/$$t | wc -l) files before minimising"; \
	    rm -rf $(FUZZ_DIR)/corpus/$$t.merged && mkdir $(FUZZ_DIR)/corpus/$$t.merged && \
	    $(FUZZ_BUILD)/$$t $(FUZZ_OPTIONS) -merge=1 $(FUZZ_DIR)/corpus/$$t.merged $(FUZZ_DIR)/corpus/$$t \
	      > $(FUZZ_DIR)/$$t-merge.log 2>&1 && \
	    rm -rf $(FUZZ_DIR)/corpus/$$t && mv $(FUZZ_DIR)/corpus/$$t.merged $(FUZZ_DIR)/corpus/$$t; \
	  fi; \
	  echo "$$t: corpus $$(ls $(FUZZ_DIR)/corpus/$$t | wc -l) files, $$(du -sh $(FUZZ_DIR)/corpus/$$t | cut -f1)"; \
	done; \
	if [ -n "$$(ls -A $(FUZZ_DIR)/findings)" ]; then echo "findings:"; ls -l $(FUZZ_DIR)/findings; fi; \
	exit $$status
endef

fuzz: fuzz-build fuzz-seeds
	$(call run_fuzzers,$(FUZZ_SECONDS),merge)

# The same, briefly: for `make test` and CI.
fuzz-smoke: fuzz-build fuzz-seeds
	$(call run_fuzzers,$(FUZZ_SMOKE_SECONDS))

# The whole pipeline (scan, load, inspect, convert, meta_forward, export, materialize) on mutated real files,
# each case in a forked child under a cap (scripts/fuzz_pipeline.py, docs/fuzzing.md). The smoke in
# `make test` runs the same cases everywhere (a fixed seed, the committed seed files), so that CI
# fails on a regression, not on a new random finding; `make fuzz-pipeline` explores.
FUZZ_PIPELINE_SMOKE := --committed-seeds-only --seed 1 --cases 2000

fuzz-pipeline: python-package
	$(PY) scripts/fuzz_pipeline.py --seconds $(FUZZ_SECONDS)

fuzz-pipeline-smoke: python-package
	$(PY) scripts/fuzz_pipeline.py $(FUZZ_PIPELINE_SMOKE) --seconds 600

test: test-cpp test-sanitize fuzz-smoke fuzz-pipeline-smoke test-cmake-package test-python test-python-oldest-onnx

# Resolves requirements/dev.in and pyproject.toml (with its test extra) to the newest versions within
# their ranges, for every machine type, and the oldest supported onnx series; then `make test`.
lock: venv
	$(foreach platform,$(LOCK_PLATFORMS),$(UV_COMPILE) --python-platform $(platform)-manylinux_2_28 \
	  pyproject.toml requirements/dev.in --extra test -o requirements/lock-$(platform).txt &&) true
	$(UV_COMPILE) --no-deps requirements/onnx-oldest.in -o $(LOCK_ONNX_OLDEST)
	$(foreach tool,$(WILD_TOOLS),$(UV_COMPILE) --python-platform x86_64-manylinux_2_28 \
	  requirements/wild-$(tool).in -o requirements/lock-wild-$(tool).txt &&) true
	@git diff --stat -- requirements/ 2>/dev/null || true

# ONNX files made by other tools (tests/wild/README.md): onnxruntime-genai's builder, optimum, spox,
# skl2onnx, tf2onnx and paddle2onnx run in locked environments of their own; onnxscript and the TorchScript exporter come from the main lock.
# Each runs scripts/make_wild_<tool>.py in .cache/wild-<tool>-venv, from requirements/lock-wild-<tool>.txt.
WILD_TOOLS := genai optimum spox skl2onnx tf2onnx paddle2onnx

# Each tool's environment, built anew when its lock changes.
.cache/wild-%-venv/.deps-installed: requirements/lock-wild-%.txt
	rm -rf $(@D)
	$(PYTHON) -m venv $(@D)
	$(@D)/bin/pip install -q --require-hashes --no-deps -r $<
	touch $@

wild-corpus: python-package $(foreach tool,$(WILD_TOOLS),.cache/wild-$(tool)-venv/.deps-installed)
	$(foreach tool,$(WILD_TOOLS),.cache/wild-$(tool)-venv/bin/python scripts/make_wild_$(tool).py &&) true
	$(PY) scripts/make_wild_onnxscript.py
	$(PY) scripts/make_wild_old_opsets.py

coverage: python-package
	$(PY) scripts/node_test_coverage.py

# tests/test_export_architectures.py's whole matrix: every architecture fixture's dynamic variant, both
# opsets and layouts, through ow.export and torch.compile against onnxruntime (make test runs its smoke only). Fixtures
# missing from .cache/fixtures/arch-*-dynamic are built as the tests reach them.
.PHONY: export-sweep
export-sweep: python-package
	ONNX_WEIGHTLESS_EXPORT_SWEEP=1 $(PY) -m pytest -q tests/test_export_architectures.py

# Each measurement in a fresh process; builds the workload models on first use (benchmarks/workloads.py).
# Ends with the export section (ow.export vs transformers' Llama on meta, 8B and 70B); BENCH_ARGS="--only export"
# reruns only that section and rewrites only its part of docs/benchmarks.md.
bench: python-package cpp test-system-deps
	$(PY) benchmarks/run.py --write-doc $(BENCH_ARGS)

demo: python-package
	$(PY) scripts/demo.py models/llama3-8b.onnx

clean:
	rm -rf build
