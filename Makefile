# The two commands of the README: `make demo` and `make test`. Everything else is a step of them.
JOBS ?= $(shell nproc)
WORKERS ?= 0
.PHONY: deps build demo test test-release test-asan test-tsan fuzz bench format clean

deps:
	@bash scripts/install-deps.sh

build: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

# The demo builds only itself and the libraries it links (no tests, no other examples).
demo: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS) --target demo
	./build/release/examples/demo --workers $(WORKERS)

test: deps
	bash scripts/test.sh

test-release: deps
	bash scripts/test.sh release

test-asan: deps
	bash scripts/test.sh asan

test-tsan: deps
	bash scripts/test.sh tsan

fuzz: deps
	bash scripts/test.sh fuzz

bench: deps
	bash bench/run.sh

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp' '*.h' '*.c')

clean:
	rm -rf build
