# The two commands: `make demo` runs the mesh on its embedded defaults, `make test` runs the tests.
# Both need only Python 3.11+ and make: uv is installed into .tools/ when it is not on PATH.

UV_VERSION := 0.13.8
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)

.PHONY: demo test lint eval sync clean

demo: sync
	$(UV) run --locked mesh demo

test: sync
	$(UV) run --locked pytest

# The eval gate in replay mode: golden and adversarial cases through the real mesh (evals/README.md).
eval: sync
	$(UV) run --locked mesh eval --suite all --gate

lint: sync
	$(UV) run --locked ruff check .
	$(UV) run --locked ruff format --check .
	$(UV) run --locked mypy

sync: $(UV)
	$(UV) sync --locked

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

clean:
	rm -rf .mesh .pytest_cache .ruff_cache
