#!/usr/bin/env bash
# Speed comparison of the stylegan training step: forger bench train --model
# stylegan against the same networks in PyTorch (bench/pytorch_stylegan.py,
# on scripts/stylegan-reference.py's modules; Debian's python3-torch), CPU.
# PyTorch runs at each thread split of PT_CONFIGS and its best counts.
#
#   bench/compare-stylegan.sh                 # 32×32, batch 16
#   SIZE=64 STEPS=10 bench/compare-stylegan.sh
#
# Environment: SIZE (32), BATCH (16), STEPS (5), WARMUP (1), NGF (256),
# NZ (256), PT_CONFIGS ("2:1 1:2", TORCH:BLAS threads), FORGER (a prebuilt
# binary), PYTHON (/usr/bin/python3), NICE (run both under nice -n NICE).
# stdout: a Markdown table; stderr: the raw JSON of each run.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"
PY=${PYTHON:-/usr/bin/python3}
SIZE=${SIZE:-32} BATCH=${BATCH:-16} STEPS=${STEPS:-5} WARMUP=${WARMUP:-1} NGF=${NGF:-256} NZ=${NZ:-256}
PT_CONFIGS=${PT_CONFIGS:-"2:1 1:2"}
run=()
if [[ -n ${NICE:-} ]]; then run=(nice -n "$NICE"); fi
if [[ -z ${FORGER:-} ]]; then
	FORGER=$(mktemp -d)/forger
	go build -o "$FORGER" ./cmd/forger
fi
ips() { sed -n 's/.*"images_per_sec": *\([0-9.eE+-]*\).*/\1/p'; }

fj=$("${run[@]}" "$FORGER" bench train --model stylegan --size "$SIZE" --batch "$BATCH" --steps "$STEPS" --warmup "$WARMUP" --ngf "$NGF" --nz "$NZ" --json 2>/dev/null)
echo "$fj" >&2
fips=$(echo "$fj" | ips)
best=0 bestcfg=-
for c in $PT_CONFIGS; do
	pj=$("${run[@]}" "$PY" "$here/pytorch_stylegan.py" --size "$SIZE" --batch "$BATCH" --steps "$STEPS" --warmup "$WARMUP" \
		--ngf "$NGF" --nz "$NZ" --threads "${c%%:*}" --blas-threads "${c##*:}")
	echo "$pj" >&2
	v=$(echo "$pj" | ips)
	if awk -v a="$v" -v b="$best" 'BEGIN{exit !(a>b)}'; then best=$v bestcfg=$c; fi
done
echo "| stylegan train ${SIZE}×${SIZE}, batch $BATCH | images/s |"
echo "|---|---|"
printf "| forger | %.2f |\n" "$fips"
printf "| PyTorch (threads torch:blas %s) | %.2f |\n" "$bestcfg" "$best"
awk -v a="$fips" -v b="$best" 'BEGIN{ if (b > 0) printf "\nforger / PyTorch: %.2f×\n", a/b }'
