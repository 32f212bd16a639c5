#!/usr/bin/env bash
# The recipe comparison behind forger's dcgan defaults at 64×64: each variant
# trains an unconditional DCGAN on the 20,000 cartoon faces at 64×64 for the
# same number of images (EPOCHS passes, default 2 = 40k images: equal images,
# not equal minutes, so that other work on the machine does not tilt the
# comparison; each variant's images/s is reported beside its score, so the
# same table also says what it reaches in equal time), then forger eval
# scores it with the face judge (N images, default 5000). Every flag that
# differs between recipes is given explicitly, so the results do not depend
# on the defaults of the day.
#
#   scripts/recipe-ab-faces.sh                    # all variants
#   scripts/recipe-ab-faces.sh bce-bn r1          # some of them
#
# Environment: OUT (default runs/recipe-ab-faces: one run folder and one
# JSON per variant; a variant whose JSON exists is skipped), EPOCHS, N,
# JUDGE (default runs/judge-faces-64.safetensors; made when missing with
# forger judge train --data cartoon-faces --size 64), FORGER (default
# bin/forger). It prints the table of docs/results/faces-64.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${OUT:-runs/recipe-ab-faces}
EPOCHS=${EPOCHS:-2}
N=${N:-5000}
JUDGE=${JUDGE:-runs/judge-faces-64.safetensors}
F=${FORGER:-bin/forger}
[[ -x $F ]] || { echo "recipe-ab-faces.sh: $F not found: run go build -o bin/forger ./cmd/forger" >&2; exit 1; }
command -v jq >/dev/null || { echo "recipe-ab-faces.sh: jq is needed (apt-get install jq)" >&2; exit 1; }
"$F" data get cartoon-faces --n 20000 --size 64 >/dev/null
if [[ ! -f $JUDGE ]]; then
	mkdir -p "$(dirname "$JUDGE")"
	"$F" judge train --data cartoon-faces --size 64 --out "$JUDGE"
fi

# Every recipe flag is given in every variant (the defaults at 64×64 are
# themselves one of the recipes).
opt="--lr-g 2e-4 --lr-d 2e-4 --beta1 0.5 --beta2 0.999 --d-arch dcgan --ema 0.999"
sn="--loss hinge --d-norm spectral --r1 0 --mbstd=false $opt"
bn="--loss bce --d-norm batch --r1 0 --mbstd=false $opt"
declare -A variants=(
	[hinge-sn]="$sn"
	[bce-bn]="$bn"
	[bce-bn-noema]="${bn/--ema 0.999/--ema 0}"
	[bce-bn-mbstd]="${bn/--mbstd=false/--mbstd}"
	[ttur]="--loss hinge --d-norm spectral --r1 0 --mbstd=false --lr-g 1e-4 --lr-d 4e-4 --beta1 0 --beta2 0.9 --d-arch dcgan --ema 0.999"
	[deep]="${sn/--d-arch dcgan/--d-arch deep}"
	[bce-bn-deep]="${bn/--d-arch dcgan/--d-arch deep}"
	[r1]="--loss bce --d-norm none --r1 10 --mbstd $opt"
	[sn-r1]="--loss bce --d-norm spectral --r1 10 --mbstd=false $opt"
)
order=(hinge-sn bce-bn r1 ttur bce-bn-mbstd deep bce-bn-noema bce-bn-deep sn-r1)
[[ $# -gt 0 ]] && order=("$@")
mkdir -p "$OUT"
for v in "${order[@]}"; do
	[[ -n ${variants[$v]+x} ]] || { echo "recipe-ab-faces.sh: unknown variant $v (known: ${!variants[*]})" >&2; exit 1; }
	[[ -f $OUT/$v.json ]] && continue
	rm -rf "${OUT:?}/$v"
	echo "recipe-ab-faces.sh: $v: ${variants[$v]} (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
	# shellcheck disable=SC2086
	"$F" train --data cartoon-faces --size 64 --epochs "$EPOCHS" --sample-minutes 0 --out "$OUT/$v" --json ${variants[$v]} >"$OUT/$v.train.json"
	"$F" eval --model "$OUT/$v" --judge "$JUDGE" --data cartoon-faces -n "$N" --json >"$OUT/$v.eval.tmp"
	jq --slurpfile tr "$OUT/$v.train.json" --arg flags "${variants[$v]}" \
		'. + {flags: $flags, train_seconds: $tr[0].seconds, images: $tr[0].images, images_per_sec: ($tr[0].images / $tr[0].seconds)}' \
		"$OUT/$v.eval.tmp" >"$OUT/$v.json"
	rm -f "$OUT/$v.eval.tmp"
	cp "$OUT/$v/samples/epoch_$(printf %03d "$EPOCHS").png" "$OUT/$v.png" 2>/dev/null || true
done
echo "| variant | flags | fd | precision | recall | attr_gap | images/s |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
for v in "${order[@]}"; do
	jq -r --arg v "$v" \
		'"| \($v) | `\(.flags)` | \(.fd * 100 | round / 100) | \(.precision * 1000 | round / 10)% | \(.recall * 1000 | round / 10)% | \(.attr_gap * 1000 | round / 1000) | \(.images_per_sec * 10 | round / 10) |"' "$OUT/$v.json"
done
