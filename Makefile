# proctrace: the two commands a newcomer needs are `make demo` and `make test`.
SWIFT ?= swift
CC ?= cc
BIN_DEBUG = .build/debug/proctrace
BIN = .build/release/proctrace
WORKLOAD_SRC = $(wildcard traces/workloads/*.c)
WORKLOAD_BIN = $(patsubst traces/workloads/%.c,traces/workloads/bin/%,$(WORKLOAD_SRC))

.PHONY: all deps build release workloads test demo gallery bench clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --static-swift-stdlib

traces/workloads/bin/%: traces/workloads/%.c
	@mkdir -p traces/workloads/bin
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $< -lpthread

workloads: $(WORKLOAD_BIN)

test: deps workloads
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel

gallery: release workloads
	scripts/gallery.sh $(BIN)

demo: gallery
	@echo
	@echo "Traces are in traces/, pictures in render/. Try:"
	@echo "  $(BIN) tree traces/zombie.jsonl"
	@echo "  $(BIN) record -o /tmp/wait.jsonl -- /usr/bin/python3 traces/workloads/wait_status.py"

bench: release workloads
	scripts/bench.sh $(BIN)

clean:
	rm -rf .build traces/workloads/bin
