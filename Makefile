# The two commands of the README: `make run` and `make test`. Both install the Debian packages
# Saddle needs when they are missing, then build.

# librsvg2-bin's rsvg-convert renders the report's figures in `make test` (scripts/check_report.py).
DEBIAN_PACKAGES := libopenblas-dev liblapacke-dev libffi-dev zlib1g-dev dataset-fashion-mnist g++ librsvg2-bin
# Open MPI for data-parallel training (`make mpi`, and the distributed tests of `make test`);
# neither `saddle` nor the library links it.
MPI_PACKAGES := libopenmpi-dev openmpi-bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT ?= swift

.PHONY: run test deps build bench report report-full report-check plugins fuzz consumer docs mpi

deps:
	@missing=""; \
	for p in $(DEBIAN_PACKAGES) $(EXTRA_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		$(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi
	@python3 -c "import safetensors, numpy, jsonschema, onnx, onnxruntime" 2>/dev/null || python3 -m pip install --quiet safetensors numpy jsonschema onnx onnxruntime

build: deps
	$(SWIFT) build -c release

run: build
	.build/release/saddle train

bench: build
	.build/release/saddle-bench

# The talk's experiments as one HTML page (saddle-report.html): digits and toy problems
# (about 3 minutes), or with the Fashion-MNIST conv-net experiments (`report-full`, under 45).
report: build
	.build/release/saddle report --quick

report-full: build
	.build/release/saddle report --full

# The quick report in a release build, then every figure rendered and checked (part of `make test`).
report-check: deps
	$(SWIFT) build -c release --product saddle
	mkdir -p .build/report
	.build/release/saddle report --quick --output .build/report/saddle-report.html
	python3 scripts/check_report.py .build/report/saddle-report.html --min-experiments 11

# The MPI shim (MPI/saddle_mpi_shim.c), loaded at run time by processes started by mpirun.
mpi:
	@$(MAKE) --no-print-directory deps EXTRA_PACKAGES="$(MPI_PACKAGES)"
	mkdir -p .build/mpi
	mpicc -shared -fPIC -O2 -fvisibility=hidden MPI/saddle_mpi_shim.c -o .build/mpi/libsaddle_mpi.so -ldl

test: mpi
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	SWIFT=$(SWIFT) scripts/docs.sh
	SWIFT=$(SWIFT) scripts/consumer/run.sh
	@$(MAKE) --no-print-directory report-check

# The DocC articles and the API reference as static HTML in .build/docs (scripts/docs.sh).
docs: deps
	SWIFT=$(SWIFT) scripts/docs.sh

# A package outside the repository that depends on Saddle by version (`from:`) through a
# file:// clone tagged with the current version, and trains a model (part of `make test`).
consumer:
	SWIFT=$(SWIFT) scripts/consumer/run.sh

# The example plugins (tests build their own copies), each then checked by `saddle plugins check`.
plugins: build
	mkdir -p .build/plugins
	cc -shared -fPIC -O3 -fvisibility=hidden -I Plugins/ABI/include Plugins/Examples/acme/acme.c -o .build/plugins/libacme.so -lm
	swiftc -emit-library -parse-as-library -O -I Plugins/ABI/include Plugins/Examples/zoo/RMSprop.swift -o .build/plugins/libzoo.so
	cc -shared -fPIC -O3 -fvisibility=hidden -I Plugins/ABI/include Plugins/Examples/vision/vision.c -o .build/plugins/libvision.so -lopenblas -lm
	c++ -std=c++17 -shared -fPIC -O3 -fvisibility=hidden -fno-exceptions -I Plugins/ABI/include Plugins/Examples/cxx/cxxopt.cpp -o .build/plugins/libcxxopt.so
	set -e; for p in acme zoo vision cxxopt; do .build/release/saddle plugins check .build/plugins/lib$$p.so; done

# Long fuzzing, outside `make test`: coverage-guided (libFuzzer) over every input format,
# FUZZ_RUNS inputs each (scripts/fuzz.sh; findings land in .build-fuzz/findings/).
FUZZ_RUNS ?= 1000000
fuzz: deps
	SWIFT=$(SWIFT) scripts/fuzz.sh $(FUZZ_RUNS)
