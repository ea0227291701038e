# Studio Ledger: `make run` starts the embedded service, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TS := clients/typescript
NEXT := examples/nextjs

.PHONY: install run test lint typecheck unit browser screenshots chromium promtool bench clean openapi typescript nextjs templates-doc monitoring

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Prints where it answers, the data folder and the command that prints a token; `make run PORT=8002 HOST=0.0.0.0`.
run: $(STAMP)
	$(BIN)/studio-ledger serve $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) chromium promtool
	$(BIN)/ruff check .
	$(BIN)/mypy
	@$(MAKE) --no-print-directory typescript
	@$(MAKE) --no-print-directory nextjs
	$(BIN)/pytest

chromium:
	@bash .ci/chromium

# promtool for the alert rules' tests (tests/unit/test_alert_rules.py skips them, saying why, without it).
promtool:
	@bash .ci/promtool

# The Grafana dashboard and the overlay's PrometheusRule and dashboard ConfigMap, from scripts/monitoring.py.
monitoring: $(STAMP)
	$(BIN)/python scripts/monitoring.py

browser: $(STAMP) chromium
	$(BIN)/pytest tests/browser

screenshots: $(STAMP) chromium
	STUDIO_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/browser -q

# docs/openapi.json from the routes, then the TypeScript client's schema from it (needs Node 20+ and npm).
openapi: $(STAMP)
	$(BIN)/python -m api.http.contract docs/openapi.json
	@command -v npm >/dev/null || { echo "make openapi: npm not found; install Node 20+ and npm to regenerate $(TS)" >&2; exit 1; }
	cd $(TS) && { test node_modules/.package-lock.json -nt package-lock.json || npm ci --no-audit --no-fund --silent; } \
		&& node scripts/generate.mjs

# The TypeScript client: generated from the committed docs/openapi.json, and its example type-checks.
typescript:
	@if command -v node >/dev/null && command -v npm >/dev/null; then \
		cd $(TS) && { test node_modules/.package-lock.json -nt package-lock.json || npm ci --no-audit --no-fund --silent; } \
		&& echo "TypeScript client: the schema is current and tsc type-checks it (into $(TS)/build)" \
		&& npm run --silent check; \
	else echo "SKIPPED the TypeScript client check: node and npm not found (install Node 20+ to run it)"; fi

# The Next.js example (examples/nextjs): `next build` with Node 20+, for tests/browser/test_nextjs_route.py.
# npm ci runs again only when its lockfile or the TypeScript client (installed there as a copy) changed.
nextjs:
	@if command -v npm >/dev/null && node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' 2>/dev/null; then \
		cd $(NEXT) && { test -f node_modules/.package-lock.json \
			&& test -z "$$(find package-lock.json ../../$(TS)/package.json ../../$(TS)/src -newer node_modules/.package-lock.json)" \
			|| npm ci --no-audit --no-fund --silent; } \
		&& echo "Next.js example: next build ($(NEXT)/.next)" \
		&& NEXT_TELEMETRY_DISABLED=1 npx --no-install next build >/dev/null; \
	else echo "SKIPPED the Next.js example: Node 20+ and npm not found"; fi

unit: $(STAMP)
	$(BIN)/pytest -m unit

bench: $(STAMP)
	$(BIN)/python bench/ledger_throughput.py

templates-doc: $(STAMP)
	$(BIN)/python scripts/render_templates.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache data
