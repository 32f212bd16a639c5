#!/usr/bin/env bash
# Speed comparison: forger vs PyTorch (Debian's python3-torch) on the
# pytorch/examples DCGAN, CPU only, 2 cores.
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
#   WARMUP       untimed warm-up steps (PyTorch default 2).  Passed to forger as
#                --warmup only when set, since the forger bench contract does
#                not name that flag; unset, forger uses its own default.
#   BATCH        batch size (default 64)
#   CASES        space-separated subset of: train64 generate64 train32 generate32
#   ONLY         "pytorch" or "forger": run one side only (the other shows "-")
#   FORGER       path to a prebuilt forger binary (skips `go build`)
#   FORGER_GEMM  passed through to forger (e.g. "go" for the pure-Go fallback)
#   PYTHON       python with torch (default /usr/bin/python3, Debian's)
#   PT_CONFIGS   PyTorch thread set-ups to try, space-separated TORCH:BLAS pairs
#                (torch.set_num_threads : OPENBLAS_NUM_THREADS); default
#                "2:1 1:2".  Debian's torch does its GEMMs in OpenBLAS, whose
#                threads are separate from torch's: 2:2 oversubscribes the 2
#                cores (training 2-4x slower).  2:1 is best for training, 1:2
#                for generation; every round runs each set-up and the best
#                run counts, so PyTorch is shown at its best on this machine.
#   KEEP_JSON    file to which every raw JSON result line is appended
#   NICE         run both sides under `nice -n $NICE` in a session of their own
#                whose autogroup nice is set to $NICE too (with autogroup
#                scheduling, plain nice only ranks processes inside one session).
#                E.g. NICE=-20 as root on a shared, busy machine, so other jobs
#                disturb the runs less; it slows those jobs down meanwhile.
#
# stdout: a Markdown table.  stderr: progress and the raw JSON of each run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

PY=${PYTHON:-/usr/bin/python3}
ROUNDS=${ROUNDS:-2}
WARMUP_SET=${WARMUP:+1}
WARMUP=${WARMUP:-2}
BATCH=${BATCH:-64}
CASES=${CASES:-"train64 generate64 train32 generate32"}
ONLY=${ONLY:-}
PT_CONFIGS=${PT_CONFIGS:-"2:1 1:2"}
for c in $PT_CONFIGS; do
	[[ $c =~ ^[1-9][0-9]*:[1-9][0-9]*$ ]] || { echo "compare.sh: PT_CONFIGS entries must be TORCH:BLAS thread counts, got '$c'" >&2; exit 2; }
done
if [[ -n ${FORGER_GEMM:-} ]]; then export FORGER_GEMM; fi

case "$ONLY" in "" | pytorch | forger) ;; *)
	echo "compare.sh: ONLY must be pytorch or forger, got '$ONLY'" >&2
	exit 2
	;;
esac
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: ROUNDS must be a positive integer" >&2; exit 2; }
[[ $WARMUP =~ ^[0-9]+$ ]] || { echo "compare.sh: WARMUP must be a non-negative integer" >&2; exit 2; }
[[ -z ${STEPS:-} || $STEPS =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: STEPS must be a positive integer" >&2; exit 2; }
[[ -z ${NICE:-} || $NICE =~ ^-?[0-9]+$ ]] || { echo "compare.sh: NICE must be an integer" >&2; exit 2; }

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
	train64) echo 25 ;;      # ~1.0-1.4 s/step
	generate64) echo 150 ;;  # ~0.14-0.2 s/step
	train32) echo 400 ;;     # ~0.07-0.08 s/step
	generate32) echo 2000 ;; # ~0.015 s/step
	esac
}

# run SIDE MODE SIZE CH NF STEPS OUTFILE [TORCH:BLAS] -> 0 on success (JSON in OUTFILE)
run() {
	local side=$1 mode=$2 size=$3 ch=$4 nf=$5 steps=$6 out=$7 ptc=${8:-2:1}
	local cmd
	if [[ $side == forger ]]; then
		cmd=("$forger_bin" bench "$mode" --size "$size" --channels "$ch" --batch "$BATCH"
			--steps "$steps" --ngf "$nf" --ndf "$nf" --json)
		if [[ -n $WARMUP_SET ]]; then cmd+=(--warmup "$WARMUP"); fi
	else
		cmd=("$PY" "$here/pytorch_dcgan.py" "$mode" --size "$size" --channels "$ch" --batch "$BATCH"
			--steps "$steps" --warmup "$WARMUP" --ngf "$nf" --ndf "$nf"
			--threads "${ptc%%:*}" --blas-threads "${ptc##*:}" --json)
	fi
	if [[ -n ${NICE:-} ]]; then
		# new session -> new autogroup; set its nice, then the process nice
		cmd=(setsid -w bash -c 'echo "$1" >/proc/self/autogroup 2>/dev/null || true; shift; exec nice -n "$0" "$@"' \
			"$NICE" "$NICE" "${cmd[@]}")
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

load0=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
if awk -v l="$load0" 'BEGIN { exit !(l + 0 > 0.5) }'; then
	log "warning: 1-min load average is $load0 before starting; other work on the machine will skew the numbers"
fi

failed=0
rows=()
notes=()
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
	runs=()
	[[ $ONLY != pytorch ]] && runs+=(forger)
	if [[ $ONLY != forger ]]; then
		for ptc in $PT_CONFIGS; do runs+=("pytorch:$ptc"); done
	fi
	declare -A best_ips=() best_rss=() best_cfg=()
	for ((r = 1; r <= ROUNDS; r++)); do
		for rr in "${runs[@]}"; do
			side=${rr%%:*} ptc=""
			[[ $side == pytorch ]] && ptc=${rr#pytorch:}
			log "$c ($mode ${size}x${size}x$ch, ngf=ndf=$nf, batch $BATCH, $steps steps) $side${ptc:+ threads $ptc} round $r/$ROUNDS"
			if run "$side" "$mode" "$size" "$ch" "$nf" "$steps" "$tmp/r.json" "$ptc"; then
				ips=$(jget "$tmp/r.json" images_per_sec)
				if better "$ips" "${best_ips[$side]:-}"; then
					best_ips[$side]=$ips
					best_rss[$side]=$(jget "$tmp/r.json" peak_rss_bytes)
					best_cfg[$side]=$ptc
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
	[[ -n ${best_cfg[pytorch]:-} ]] && notes+=("$mode ${size}×${size}×$ch: PyTorch best with torch:OpenBLAS threads ${best_cfg[pytorch]}")
	unset best_ips best_rss best_cfg
done

echo
echo "forger vs PyTorch ${torch_version:-?} (DCGAN, batch $BATCH, 2 cores, best of $ROUNDS rounds; forger gemm: ${gemm:-${FORGER_GEMM:-default}}; PyTorch torch:OpenBLAS threads tried: $PT_CONFIGS)"
echo
echo "| case | forger images/s | PyTorch images/s | ratio | forger peak RSS MB | PyTorch peak RSS MB |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
echo
echo "ratio = forger images/s ÷ PyTorch images/s (above 1: forger faster). MB = 2^20 bytes; RSS is that of the best round."
if ((${#notes[@]})); then printf -- '- %s\n' "${notes[@]}"; fi
echo "1-min load average: $load0 at start, $(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?') at end (2 cores; anything near or above 1 means the figures are contended)."
if ((failed)); then
	log "some runs failed (see above)"
	exit 1
fi
