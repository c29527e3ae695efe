# The two commands of the README: `make run` and `make test`. Both install the Debian packages
# Saddle needs when they are missing, then build.

DEBIAN_PACKAGES := libopenblas-dev liblapacke-dev libffi-dev zlib1g-dev dataset-fashion-mnist
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT ?= swift

.PHONY: run test deps build bench report plugins fuzz consumer docs

deps:
	@missing=""; \
	for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
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

# The talk's experiments as one HTML page (saddle-report.html).
report: build
	.build/release/saddle report

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	SWIFT=$(SWIFT) scripts/docs.sh
	SWIFT=$(SWIFT) scripts/consumer/run.sh

# The DocC articles and the API reference as static HTML in .build/docs (scripts/docs.sh).
docs: deps
	SWIFT=$(SWIFT) scripts/docs.sh

# A package outside the repository that depends on Saddle by version (`from:`) through a
# file:// clone tagged with the current version, and trains a model (part of `make test`).
consumer:
	SWIFT=$(SWIFT) scripts/consumer/run.sh

# The example plugins (tests build their own copies).
plugins:
	mkdir -p .build/plugins
	cc -shared -fPIC -O3 -fvisibility=hidden -I Plugins/ABI/include Plugins/Examples/acme/acme.c -o .build/plugins/libacme.so -lm
	swiftc -emit-library -parse-as-library -O -I Plugins/ABI/include Plugins/Examples/zoo/RMSprop.swift -o .build/plugins/libzoo.so

# Long fuzzing, outside `make test`: coverage-guided (libFuzzer) over every input format,
# FUZZ_RUNS inputs each (scripts/fuzz.sh; findings land in .build-fuzz/findings/).
FUZZ_RUNS ?= 1000000
fuzz: deps
	SWIFT=$(SWIFT) scripts/fuzz.sh $(FUZZ_RUNS)
