#!/usr/bin/env bash
# Speed comparison: forger vs PyTorch (Debian's python3-torch) on the
# pytorch/examples DCGAN, CPU only, 2 threads.
#
#   bench/compare.sh                      # all four cases, 2 rounds each
#   FORGER_GEMM=go bench/compare.sh       # forger's pure-Go GEMM fallback
#   ROUNDS=3 STEPS=10 bench/compare.sh    # more rounds, fixed step count
#
# Environment:
#   ROUNDS       rounds per case, forger and PyTorch alternating (default 2);
#                the best round (max images/s) of each side is reported
#   STEPS        timed steps for every case (default: per case, ~20-40 s per
#                PyTorch run on a 2-core machine; see default_steps below)
#   WARMUP       untimed warm-up steps passed to both sides (default 2)
#   BATCH        batch size (default 64)
#   CASES        space-separated subset of: train64 generate64 train32 generate32
#   ONLY         "pytorch" or "forger": run one side only (the other shows "-")
#   FORGER       path to a prebuilt forger binary (skips `go build`)
#   FORGER_GEMM  passed through to forger (e.g. "go" for the pure-Go fallback)
#   PYTHON       python with torch (default /usr/bin/python3, Debian's)
#   KEEP_JSON    file to which every raw JSON result line is appended
#
# stdout: a Markdown table.  stderr: progress and the raw JSON of each run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

PY=${PYTHON:-/usr/bin/python3}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-2}
BATCH=${BATCH:-64}
CASES=${CASES:-"train64 generate64 train32 generate32"}
ONLY=${ONLY:-}
if [[ -n ${FORGER_GEMM:-} ]]; then export FORGER_GEMM; fi

case "$ONLY" in "" | pytorch | forger) ;; *)
	echo "compare.sh: ONLY must be pytorch or forger, got '$ONLY'" >&2
	exit 2
	;;
esac
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: ROUNDS must be a positive integer" >&2; exit 2; }
[[ -z ${STEPS:-} || $STEPS =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: STEPS must be a positive integer" >&2; exit 2; }

log() { echo "compare.sh: $*" >&2; }

# --- PyTorch (Debian package) ------------------------------------------------
if [[ $ONLY != forger ]]; then
	if ! "$PY" -c 'import torch' 2>/dev/null; then
		if [[ $PY != /usr/bin/python3 ]]; then
			log "$PY cannot import torch; install it there or unset PYTHON"
			exit 1
		fi
		if [[ $(id -u) -ne 0 ]]; then
			log "python3-torch is not installed. Run as root:"
			echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch" >&2
			exit 1
		fi
		log "installing python3-torch from Debian"
		apt-get update
		DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch
		"$PY" -c 'import torch' || { log "torch still not importable after install"; exit 1; }
	fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/forger-compare.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# --- forger -------------------------------------------------------------------
if [[ $ONLY != pytorch ]]; then
	if [[ -n ${FORGER:-} ]]; then
		forger_bin=$FORGER
	else
		command -v go >/dev/null || { log "go not found on PATH (or set FORGER=/path/to/forger)"; exit 1; }
		log "building forger"
		go build -o "$tmp/forger" ./cmd/forger
		forger_bin=$tmp/forger
	fi
fi

# --- JSON ---------------------------------------------------------------------
# jget FILE KEY -> value of top-level KEY ("null" if absent)
if command -v jq >/dev/null; then
	jget() { jq -r --arg k "$2" '.[$k] // "null"' "$1"; }
else
	jget() {
		python3 -c 'import json,sys
v = json.load(open(sys.argv[1])).get(sys.argv[2])
print("null" if v is None else v)' "$1" "$2"
	}
fi

# Keep only the last line of stdout that looks like a JSON object.
last_json() { grep -E '^[[:space:]]*\{' "$1" | tail -n 1; }

default_steps() { # calibrated on a 2-core EPYC with PyTorch 1.13 (Debian 12)
	case "$1" in
	train64) echo 15 ;;      # ~1.8 s/step
	generate64) echo 120 ;;  # ~0.25 s/step
	train32) echo 250 ;;     # ~0.11 s/step
	generate32) echo 1000 ;; # ~0.028 s/step
	esac
}

# run SIDE MODE SIZE CH NF STEPS OUTFILE -> 0 on success (JSON in OUTFILE)
run() {
	local side=$1 mode=$2 size=$3 ch=$4 nf=$5 steps=$6 out=$7
	local cmd
	if [[ $side == forger ]]; then
		cmd=("$forger_bin" bench "$mode" --size "$size" --channels "$ch" --batch "$BATCH"
			--steps "$steps" --warmup "$WARMUP" --ngf "$nf" --ndf "$nf" --json)
	else
		cmd=("$PY" "$here/pytorch_dcgan.py" "$mode" --size "$size" --channels "$ch" --batch "$BATCH"
			--steps "$steps" --warmup "$WARMUP" --ngf "$nf" --ndf "$nf" --threads 2 --json)
	fi
	if ! "${cmd[@]}" >"$tmp/stdout" 2>"$tmp/stderr"; then
		log "FAILED: ${cmd[*]}"
		sed 's/^/    /' "$tmp/stderr" >&2
		return 1
	fi
	if ! last_json "$tmp/stdout" >"$out" || [[ $(jget "$out" images_per_sec) == null ]]; then
		log "no JSON with images_per_sec from: ${cmd[*]}"
		sed 's/^/    /' "$tmp/stdout" >&2
		return 1
	fi
	echo "  $(cat "$out")" >&2
	if [[ -n ${KEEP_JSON:-} ]]; then cat "$out" >>"$KEEP_JSON"; fi
}

fmt() { awk -v v="$1" -v d="$2" 'BEGIN { if (v == "" || v == "null" || v == "-") print "-"; else printf("%.*f\n", d, v) }'; }
mib() { awk -v v="$1" 'BEGIN { if (v == "" || v == "null" || v == "-") print "-"; else printf("%.0f\n", v / 1048576) }'; }
better() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(b == "" || a + 0 > b + 0) }'; }

failed=0
rows=()
gemm=""
torch_version=""
for c in $CASES; do
	case "$c" in
	train64) mode=train size=64 ch=3 nf=64 ;;
	generate64) mode=generate size=64 ch=3 nf=64 ;;
	train32) mode=train size=32 ch=1 nf=32 ;;
	generate32) mode=generate size=32 ch=1 nf=32 ;;
	*) log "unknown case '$c' (train64 generate64 train32 generate32)"; exit 2 ;;
	esac
	steps=${STEPS:-$(default_steps "$c")}
	sides=()
	[[ $ONLY != pytorch ]] && sides+=(forger)
	[[ $ONLY != forger ]] && sides+=(pytorch)
	declare -A best_ips=() best_rss=()
	for ((r = 1; r <= ROUNDS; r++)); do
		for side in "${sides[@]}"; do
			log "$c ($mode ${size}x${size}x$ch, ngf=ndf=$nf, batch $BATCH, $steps steps) $side round $r/$ROUNDS"
			if run "$side" "$mode" "$size" "$ch" "$nf" "$steps" "$tmp/r.json"; then
				ips=$(jget "$tmp/r.json" images_per_sec)
				if better "$ips" "${best_ips[$side]:-}"; then
					best_ips[$side]=$ips
					best_rss[$side]=$(jget "$tmp/r.json" peak_rss_bytes)
				fi
				if [[ $side == forger ]]; then
					g=$(jget "$tmp/r.json" gemm)
					[[ $g != null ]] && gemm=$g
				else
					torch_version=$(jget "$tmp/r.json" torch_version)
				fi
			else
				failed=1
			fi
		done
	done
	f=${best_ips[forger]:-} p=${best_ips[pytorch]:-}
	if [[ -n $f && -n $p ]]; then
		ratio=$(awk -v f="$f" -v p="$p" 'BEGIN { r = f / p; printf(r >= 0.1 ? "%.2f" : "%.3f", r) }')
	else
		ratio=-
	fi
	rows+=("| $mode ${size}×${size}×$ch (ngf=ndf=$nf) | $(fmt "$f" 1) | $(fmt "$p" 1) | $ratio | $(mib "${best_rss[forger]:-}") | $(mib "${best_rss[pytorch]:-}") |")
	unset best_ips best_rss
done

echo
echo "forger vs PyTorch ${torch_version:-?} (DCGAN, batch $BATCH, 2 threads, best of $ROUNDS rounds; forger gemm: ${gemm:-${FORGER_GEMM:-default}})"
echo
echo "| case | forger images/s | PyTorch images/s | ratio | forger peak RSS MB | PyTorch peak RSS MB |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
echo
echo "ratio = forger images/s ÷ PyTorch images/s (above 1: forger faster). MB = 2^20 bytes; RSS is that of the best round."
if ((failed)); then
	log "some runs failed (see above)"
	exit 1
fi
