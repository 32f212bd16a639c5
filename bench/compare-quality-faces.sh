#!/usr/bin/env bash
# Quality comparison on faces: forger's default dcgan vs pytorch/examples'
# DCGAN (Debian's python3-torch, 2 threads), each trained for the same
# wall-clock time on the same 20,000 cartoon faces at 64×64, both scored by
# `forger eval` with the same face judge. Writes both rows into the
# side-by-side section of docs/results/faces-64.md.
#
#   bench/compare-quality-faces.sh           # 30 minutes each (make compare-quality-faces)
#   MINUTES=0.5 N=500 RUN=/tmp/qf TORCH_RUN=/tmp/qft RESULTS=/tmp/qf-results bench/compare-quality-faces.sh   # quick check
#
# The forger side is scripts/quality-faces.sh (make quality-faces): when its
# run folder has no checkpoint yet, this script runs it first, for MINUTES;
# an existing run is scored again rather than retrained. The two trainings
# run one after the other, never together, so each has the machine to itself.
#
# Environment:
#   MINUTES      training minutes of each side (default 30)
#   N            images per side of forger eval (default 5000)
#   RUN          forger's run folder (default runs/quality-faces-64)
#   TRAIN_FLAGS  extra flags for forger train (see scripts/quality-faces.sh)
#   TORCH_RUN    PyTorch's folder: samples/<i>.png, grid.png, metrics.jsonl,
#                losses.png, load.txt, train.json (default
#                runs/quality-faces-64-pytorch). An existing
#                TORCH_RUN/train.json is scored again, not retrained.
#   TORCH_FLAGS  extra flags for bench/pytorch_dcgan_faces.py (e.g.
#                "--threads 1 --blas-threads 2"; default: its best split
#                for training on 2 cores, 2 torch threads and 1 OpenBLAS)
#   JUDGE        the face judge (default runs/judge-faces-64.safetensors)
#   RESULTS      results folder (default docs/results)
#   FORGER       a prebuilt forger binary (default: go build into bin/forger)
#   PYTHON       python with torch (default /usr/bin/python3, Debian's)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

export MINUTES=${MINUTES:-30}
export N=${N:-5000}
export RUN=${RUN:-runs/quality-faces-64}
export JUDGE=${JUDGE:-runs/judge-faces-64.safetensors}
export RESULTS=${RESULTS:-docs/results}
export TRAIN_FLAGS=${TRAIN_FLAGS:-}
TORCH_RUN=${TORCH_RUN:-runs/quality-faces-64-pytorch}
TORCH_FLAGS=${TORCH_FLAGS:-}
PY=${PYTHON:-/usr/bin/python3}

log() { echo "compare-quality-faces.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# Timings assume the machine to ourselves: a busy machine slows both sides.
# The load average is sampled during each training and shown in the table.
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
if awk -v l="$load" 'BEGIN { exit !(l > 1.0) }'; then
	log "warning: load average $load: other processes share the CPU, so the timed trainings get less of it"
fi
command -v jq >/dev/null || die "jq is needed (apt-get install jq)"
[[ $N =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, got '$N'"
[[ $MINUTES =~ ^[0-9]+([.][0-9]+)?$ ]] && awk -v m="$MINUTES" 'BEGIN { exit !(m > 0) }' || die "MINUTES must be a positive number, got '$MINUTES'"

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
fi
export FORGER=${FORGER:-bin/forger}
data=$("$FORGER" data get cartoon-faces --n 20000 --size 64 | tail -n 1)
data=${data##* is in }
[[ -d $data/images ]] || die "cartoon faces not found (forger data get cartoon-faces said '$data')"

# The forger side first: data, judge, run, eval (scripts/quality-faces.sh).
log "forger side: scripts/quality-faces.sh (MINUTES=$MINUTES, RUN=$RUN${TRAIN_FLAGS:+, TRAIN_FLAGS=$TRAIN_FLAGS})"
scripts/quality-faces.sh

# --- PyTorch side ---------------------------------------------------------------
mkdir -p "$TORCH_RUN"
if [[ -f $TORCH_RUN/train.json ]]; then
	log "$TORCH_RUN already trained: scoring it again (delete $TORCH_RUN to retrain)"
else
	log "PyTorch side: training pytorch/examples' DCGAN for $MINUTES minutes into $TORCH_RUN (load average $(cut -d' ' -f1-3 /proc/loadavg))"
	rm -rf "$TORCH_RUN/samples" "$TORCH_RUN/load.txt"
	# The load average every 10 s while PyTorch runs (as quality-faces.sh does for forger).
	(while :; do
		echo "$(date +%s) $(cut -d' ' -f1-3 /proc/loadavg)"
		sleep 10
	done) >>"$TORCH_RUN/load.txt" 2>/dev/null &
	sampler=$!
	trap 'kill "$sampler" 2>/dev/null || true' EXIT
	# shellcheck disable=SC2086
	"$PY" "$here/pytorch_dcgan_faces.py" --data "$data/images" --minutes "$MINUTES" --out "$TORCH_RUN/samples" -n "$N" \
		--grid "$TORCH_RUN/grid.png" --log "$TORCH_RUN/metrics.jsonl" --plot "$TORCH_RUN/losses.png" --json $TORCH_FLAGS \
		>"$TORCH_RUN/train.json.tmp"
	kill "$sampler" 2>/dev/null || true
	wait "$sampler" 2>/dev/null || true
	trap - EXIT
	mv "$TORCH_RUN/train.json.tmp" "$TORCH_RUN/train.json"
fi
log "scoring the PyTorch samples with forger eval --images (n=$N)"
"$FORGER" eval --images "$TORCH_RUN/samples" --judge "$JUDGE" --data cartoon-faces -n "$N" --json >"$RESULTS/faces-64-pytorch.eval.tmp"
load_json=null
if [[ -s $TORCH_RUN/load.txt ]]; then
	load_json=$(awk 'NF >= 2 { n++; s += $2; if (n == 1) first = $2; last = $2; if ($2 > max) max = $2 }
		END { if (n) printf("{\"mean\": %.2f, \"max\": %.2f, \"start\": %.2f, \"end\": %.2f, \"samples\": %d, \"every_seconds\": 10}\n", s / n, max, first, last, n); else print "null" }' "$TORCH_RUN/load.txt")
fi
jq --slurpfile ev "$RESULTS/faces-64-pytorch.eval.tmp" --argjson load "$load_json" --arg flags "$TORCH_FLAGS" \
	'{generator: "PyTorch DCGAN", torch_version, threads, interop_threads, blas_threads, omp, minutes, train_seconds: .seconds,
	  steps, kimg, images, epochs, data_images, images_per_sec, torch_flags: $flags, load: $load, eval: $ev[0]}' \
	"$TORCH_RUN/train.json" >"$RESULTS/faces-64-pytorch.json"
rm -f "$RESULTS/faces-64-pytorch.eval.tmp"
cp "$TORCH_RUN/grid.png" "$RESULTS/faces-64-pytorch-samples.png"
if [[ -f $TORCH_RUN/losses.png ]]; then cp "$TORCH_RUN/losses.png" "$RESULTS/faces-64-pytorch-losses.png"; fi

# Both rows into the results file.
RENDER_ONLY=1 scripts/quality-faces.sh
echo
sed -n '/^| generator/,/^$/p' "$RESULTS/faces-64.md"
