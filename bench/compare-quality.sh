#!/usr/bin/env bash
# Quality comparison on Fashion-MNIST: forger's cdcgan vs the standard
# conditional DCGAN in PyTorch (Debian's python3-torch, 2 threads), each
# trained for the same wall-clock time, both scored by `forger eval` with
# the same judge. Writes both rows into docs/results/fashion-mnist.md.
#
#   bench/compare-quality.sh                 # 30 minutes each (after make quality)
#   MINUTES=1 N=500 RUN=/tmp/q TORCH_RUN=/tmp/qt bench/compare-quality.sh   # quick check
#
# The forger side is scripts/quality.sh (make quality): when its run folder
# has no checkpoint yet, this script runs it first, for MINUTES; an existing
# run is scored again rather than retrained. The two trainings run one after
# the other, never together, so each has the machine to itself.
#
# Environment:
#   MINUTES    training minutes of each side (default 30)
#   N          images per side of forger eval (default 10000)
#   RUN        forger's run folder (default runs/quality-fashion-cdcgan)
#   TORCH_RUN  PyTorch's folder: samples/<class>/<i>.png, grid.png,
#              metrics.jsonl, train.json (default runs/quality-fashion-pytorch).
#              An existing TORCH_RUN/train.json is scored again, not retrained.
#   JUDGE      the judge (default runs/judge-fashion.safetensors)
#   RESULTS    results folder (default docs/results)
#   FORGER     a prebuilt forger binary (default: go build into bin/forger)
#   PYTHON     python with torch (default /usr/bin/python3, Debian's)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

export MINUTES=${MINUTES:-30}
export N=${N:-10000}
export RUN=${RUN:-runs/quality-fashion-cdcgan}
export JUDGE=${JUDGE:-runs/judge-fashion.safetensors}
export RESULTS=${RESULTS:-docs/results}
TORCH_RUN=${TORCH_RUN:-runs/quality-fashion-pytorch}
PY=${PYTHON:-/usr/bin/python3}

log() { echo "compare-quality.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# Timings assume the machine to ourselves: a busy machine slows both sides,
# and PyTorch's OpenMP threads (which spin while waiting) far more than the
# rest. Warn rather than refuse.
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
if awk -v l="$load" 'BEGIN { exit !(l > 1.0) }'; then
	log "warning: load average $load: other processes share the CPU, so the timed training gets less of it (with PyTorch, OMP_WAIT_POLICY=PASSIVE limits the damage)"
fi
command -v jq >/dev/null || die "jq is needed (apt-get install jq)"
[[ $N =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, got '$N'"

# --- PyTorch (Debian package) ------------------------------------------------
if ! "$PY" -c 'import torch' 2>/dev/null; then
	[[ $PY == /usr/bin/python3 ]] || die "$PY cannot import torch; install it there or unset PYTHON"
	if [[ $(id -u) -ne 0 ]]; then
		log "python3-torch is not installed. Run as root:"
		echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch" >&2
		exit 1
	fi
	log "installing python3-torch from Debian"
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch
	"$PY" -c 'import torch' || die "torch still not importable after install"
fi

# --- forger -----------------------------------------------------------------------
if [[ -z ${FORGER:-} ]]; then
	command -v go >/dev/null || die "go not found on PATH (or set FORGER=/path/to/forger)"
	log "building bin/forger"
	mkdir -p bin
	go build -o bin/forger ./cmd/forger
	export FORGER=bin/forger
fi
data=$("$FORGER" data get fashion-mnist 2>/dev/null | tail -n 1)
[[ -d $data ]] || die "Fashion-MNIST not found (forger data get fashion-mnist said '$data')"

# The forger side first: judge, run, eval (scripts/quality.sh).
log "forger side: scripts/quality.sh (MINUTES=$MINUTES, RUN=$RUN)"
scripts/quality.sh

# --- PyTorch side ---------------------------------------------------------------
mkdir -p "$TORCH_RUN"
if [[ -f $TORCH_RUN/train.json ]]; then
	log "$TORCH_RUN already trained: scoring it again (delete $TORCH_RUN to retrain)"
else
	log "PyTorch side: training the conditional DCGAN for $MINUTES minutes into $TORCH_RUN"
	rm -rf "$TORCH_RUN/samples"
	"$PY" "$here/pytorch_cdcgan.py" --data "$data" --minutes "$MINUTES" --out "$TORCH_RUN/samples" -n "$N" \
		--grid "$TORCH_RUN/grid.png" --log "$TORCH_RUN/metrics.jsonl" --threads 2 --json >"$TORCH_RUN/train.json.tmp"
	mv "$TORCH_RUN/train.json.tmp" "$TORCH_RUN/train.json"
fi
log "scoring the PyTorch samples with forger eval (n=$N)"
"$FORGER" eval --images "$TORCH_RUN/samples" --judge "$JUDGE" --data fashion-mnist -n "$N" --json >"$RESULTS/fashion-mnist-pytorch.eval.tmp"
jq --slurpfile ev "$RESULTS/fashion-mnist-pytorch.eval.tmp" \
	'{generator: "PyTorch cdcgan", torch_version, threads, minutes, train_seconds: .seconds, steps, kimg, eval: $ev[0]}' \
	"$TORCH_RUN/train.json" >"$RESULTS/fashion-mnist-pytorch.json"
rm -f "$RESULTS/fashion-mnist-pytorch.eval.tmp"
cp "$TORCH_RUN/grid.png" "$RESULTS/fashion-mnist-pytorch-samples.png"

# Both rows into the results file.
RENDER_ONLY=1 scripts/quality.sh
echo
sed -n '/^| generator/,/^$/p' "$RESULTS/fashion-mnist.md"
