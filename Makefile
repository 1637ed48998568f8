# VJVector developer entry points. `make run` and `make test` work on a fresh Debian 12 machine.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
DATA_DIR ?= ./data
HTTP_PORT ?= 6333
CTEST_PARALLEL ?= 2
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= fuzz_http_request fuzz_point_codec fuzz_filter_codec fuzz_query fuzz_collection_config \
  fuzz_point_record fuzz_log_batch fuzz_hnsw_snapshot

.PHONY: all deps configure build run cluster test unit e2e bench clean fuzz-build fuzz faults

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD_DIR)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR)

run: build
	mkdir -p $(DATA_DIR)
	./$(BUILD_DIR)/vjvector serve --data-dir $(DATA_DIR) --host 127.0.0.1 --http-port $(HTTP_PORT)

# etcd and three nodes on loopback (ports 6333-6335, etcd on 2379), data in $(DATA_DIR)/cluster.
cluster: build
	BUILD_DIR=$(BUILD_DIR) CLUSTER_DIR=$(DATA_DIR)/cluster BASE_PORT=$(HTTP_PORT) ./scripts/cluster.sh

# The fuzz targets (clang, ASan/UBSan, in $(BUILD_DIR)/fuzz) are built first: ctest's label fuzz runs each
# for a few seconds on its seed corpus.
test: build fuzz-build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(CTEST_PARALLEL)

fuzz-build: configure
	BUILD_DIR=$(BUILD_DIR) ./scripts/fuzz.sh build

# Long fuzzing runs, one target at a time: FUZZ_SECONDS each (new inputs in $(BUILD_DIR)/fuzz/corpus).
fuzz: fuzz-build
	for t in $(FUZZ_TARGETS); do BUILD_DIR=$(BUILD_DIR) ./scripts/fuzz.sh long $$t $(FUZZ_SECONDS) || exit 1; done

# The seeded cluster fault test (docs/faults.md), as root: SEED, MINUTES, NODES and KINDS (comma-separated,
# see tests/faults/schedule.py) choose the run; FAULT_ARGS adds run_faults.py options (--power-loss, --keep,
# --assert-liveness, --gap 5,10 ...). Prints the seed and schedule, writes history and summary.
SEED ?= $(shell date +%s)
MINUTES ?= 5
NODES ?= 3
KINDS ?= kill,kill-primary,stop,partition-primary,isolate,split,etcd-kill,skew,double
FAULT_ARGS ?=
faults: build
	python3 tests/faults/run_faults.py --binary $(BUILD_DIR)/vjvector --seed $(SEED) \
	  --seconds $$(( $(MINUTES) * 60 )) --nodes $(NODES) --kinds $(KINDS) $(FAULT_ARGS)

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(CTEST_PARALLEL) -L unit

e2e: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L e2e

clean:
	rm -rf $(BUILD_DIR)
