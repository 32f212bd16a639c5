#!/usr/bin/env bash
# The VAE baseline against forger's dcgan on the cartoon faces at 64×64
# (docs/results/vae.md): each trains MINUTES (default 10) on the same 20,000
# faces, one after the other, with the 1-minute load average sampled every
# 10 s; then forger eval scores each on N (default 5000) samples with the
# face judge and measures its perceptual path length (--ppl, PPL_N pairs).
#
# Environment: MINUTES, N, PPL_N (default 10000), JUDGE (default
# runs/judge-faces-64.safetensors, trained first when missing), RUNS (default
# runs), OUT (default docs/results), FORGER (default bin/forger), NICE
# (default 19).
# Writes OUT/vae-<model>.json (the eval report with the training's images
# and load) and OUT/vae-<model>-samples.png (the last sample grid).
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${MINUTES:-10} N=${N:-5000} PPL_N=${PPL_N:-10000}
JUDGE=${JUDGE:-runs/judge-faces-64.safetensors} RUNS=${RUNS:-runs} OUT=${OUT:-docs/results}
FORGER=${FORGER:-bin/forger} NICE=${NICE:-19}
mkdir -p "$RUNS" "$OUT"
f() { nice -n "$NICE" "$FORGER" "$@"; }
f data get cartoon-faces --n 20000 --size 64 >/dev/null
[ -f "$JUDGE" ] || f judge train --data cartoon-faces --size 64 --out "$JUDGE"
for model in vae dcgan; do
	run="$RUNS/vae-faces-$model"
	loads="$RUNS/vae-faces-$model.load"
	if [ ! -e "$run/checkpoints/latest.safetensors" ]; then
		: >"$loads"
		(while sleep 10; do cut -d' ' -f1 /proc/loadavg >>"$loads"; done) &
		sampler=$!
		f train --model "$model" --data cartoon-faces --size 64 --minutes "$MINUTES" --out "$run" --json >"$run.train.json"
		kill "$sampler"
	fi
	f eval --model "$run" --judge "$JUDGE" --data cartoon-faces -n "$N" --ppl --ppl-n "$PPL_N" --json >"$run.eval.json"
	jq -n --slurpfile t "$run.train.json" --slurpfile e "$run.eval.json" --rawfile l "$loads" --arg m "$model" --argjson min "$MINUTES" '
		($l | split("\n") | map(select(. != "") | tonumber)) as $ls |
		{model: $m, minutes: $min, images: $t[0].images, seconds: $t[0].seconds,
		 load: {mean: (($ls | add) / ($ls | length) * 100 | round / 100), max: ($ls | max)}, eval: $e[0]}' >"$OUT/vae-$model.json"
	cp "$(ls -t "$run"/samples/*.png | head -1)" "$OUT/vae-$model-samples.png" # the newest: the last checkpoint's
done
