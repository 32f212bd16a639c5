#!/usr/bin/env bash
# Runs forger's test suite (after installing what the tests use).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
go vet ./...
go test -count=1 -timeout 20m ./...
