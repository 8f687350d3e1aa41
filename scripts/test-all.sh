#!/usr/bin/env bash
# The whole suite, as CI runs it: environment, build, lint, types, unit, integration, end-to-end,
# and the unit tests once more on Node 22.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s ===\n' "$*"; }

step 'test environment'
bash scripts/setup-test-env.sh
step 'build'
npm run build
step 'lint and package boundaries'
npm run lint
step 'type-check sources and tests'
npm run typecheck
step 'unit tests (Node 20)'
npx vitest run --project unit
step 'integration tests (real PostgreSQL, SQLite, services)'
npx vitest run --project integration
step 'end-to-end tests (real server and CLI)'
npx vitest run --project e2e
step 'unit tests (Node 22)'
npx -y -p node@22 node ./node_modules/vitest/vitest.mjs run --project unit
step 'all green'
