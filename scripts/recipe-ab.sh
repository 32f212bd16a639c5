#!/usr/bin/env bash
# The recipe comparison behind forger's cdcgan defaults: each variant trains
# a class-conditional DCGAN on Fashion-MNIST for the same number of images
# (EPOCHS passes, default 6 = 360k images; equal images, not equal minutes,
# so that other work on the machine does not tilt the comparison), then
# forger eval scores it on the judge (n = 10000). Every flag that differs
# between recipes is given explicitly, so the results do not depend on the
# defaults of the day.
#
#   scripts/recipe-ab.sh                  # all variants (~6 min each on 2 cores)
#   scripts/recipe-ab.sh default peer     # some of them
#
# Environment: OUT (default runs/recipe-ab: one run folder and one JSON per
# variant; a variant whose JSON exists is skipped), EPOCHS, JUDGE (default
# runs/judge-fashion.safetensors, made by make quality), FORGER (default
# bin/forger). The table it prints is the one in docs/results/fashion-mnist.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${OUT:-runs/recipe-ab}
EPOCHS=${EPOCHS:-6}
JUDGE=${JUDGE:-runs/judge-fashion.safetensors}
F=${FORGER:-bin/forger}
[[ -x $F ]] || { echo "recipe-ab.sh: $F not found: run go build -o bin/forger ./cmd/forger" >&2; exit 1; }
[[ -f $JUDGE ]] || { echo "recipe-ab.sh: no judge at $JUDGE: run forger judge train --data fashion-mnist --out $JUDGE" >&2; exit 1; }

old="--loss hinge --spectral-norm=true --g-cond embed --d-cond projection"
declare -A variants=(
	[default]="$old"
	[mbstd]="$old --mbstd"
	[noema]="$old --ema 0"
	[bce-bn]="--loss bce --spectral-norm=false --g-cond embed --d-cond projection"
	[bce-bn-noema]="--loss bce --spectral-norm=false --g-cond embed --d-cond projection --ema 0"
	[input]="--loss hinge --spectral-norm=true --g-cond embed --d-cond input"
	[bce-bn-input]="--loss bce --spectral-norm=false --g-cond embed --d-cond input"
	[onehot]="--loss hinge --spectral-norm=true --g-cond onehot --d-cond projection"
	[peer]="--loss bce --spectral-norm=false --g-cond onehot --d-cond input"
	[bce-bn-onehot]="--loss bce --spectral-norm=false --g-cond onehot --d-cond projection"
)
order=(default mbstd noema bce-bn bce-bn-noema input bce-bn-input onehot peer bce-bn-onehot)
[[ $# -gt 0 ]] && order=("$@")
mkdir -p "$OUT"
for v in "${order[@]}"; do
	[[ -n ${variants[$v]+x} ]] || { echo "recipe-ab.sh: unknown variant $v (known: ${!variants[*]})" >&2; exit 1; }
	[[ -f $OUT/$v.json ]] && continue
	rm -rf "${OUT:?}/$v"
	echo "recipe-ab.sh: $v: ${variants[$v]}" >&2
	# shellcheck disable=SC2086
	"$F" train --data fashion-mnist --model cdcgan --epochs "$EPOCHS" --sample-minutes 0 --out "$OUT/$v" ${variants[$v]}
	"$F" eval --model "$OUT/$v" --judge "$JUDGE" --data fashion-mnist -n 10000 --json >"$OUT/$v.json.tmp"
	mv "$OUT/$v.json.tmp" "$OUT/$v.json"
done
echo "| variant | flags | fd | precision | recall | class accuracy |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
for v in "${order[@]}"; do
	jq -r --arg v "$v" --arg flags "${variants[$v]}" \
		'"| \($v) | `\($flags)` | \(.fd * 10 | round / 10) | \(.precision * 1000 | round / 10)% | \(.recall * 1000 | round / 10)% | \(.class_accuracy * 1000 | round / 10)% |"' "$OUT/$v.json"
done
