#!/usr/bin/env bash
# forger's quality run on Fashion-MNIST: train a class-conditional DCGAN for
# a fixed time, score its last checkpoint with forger's judge, and write
# docs/results/fashion-mnist.md (the table, the sample grid with one row per
# class, the loss curves).
#
#   scripts/quality.sh            # 30 minutes of training (make quality)
#   MINUTES=1 N=500 RUN=/tmp/q scripts/quality.sh   # a quick check
#
# Environment:
#   MINUTES  training time in minutes (default 30; also the first argument)
#   N        images on each side of forger eval (default 10000: keep it,
#            fd depends on the count)
#   RUN      the run folder (default runs/quality-fashion-cdcgan). A run that
#            already has a checkpoint is evaluated again, not retrained:
#            delete it to retrain.
#   JUDGE    the judge (default runs/judge-fashion.safetensors); trained
#            first when missing (a few minutes)
#   RESULTS  where the results go (default docs/results)
#   FORGER   a prebuilt forger binary (default: go build into bin/forger)
#   RENDER_ONLY=1  only rewrite fashion-mnist.md from the JSON results
#            already in RESULTS (bench/compare-quality.sh uses it)
#
# Results: RESULTS/fashion-mnist.md, fashion-mnist-forger.json (forger eval
# --json), fashion-mnist-forger-samples.png, fashion-mnist-forger-losses.png,
# fashion-mnist-forger-progress.gif.
# A fashion-mnist-pytorch.json left by bench/compare-quality.sh becomes the
# table's second row.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MINUTES=${1:-${MINUTES:-30}}
N=${N:-10000}
RUN=${RUN:-runs/quality-fashion-cdcgan}
JUDGE=${JUDGE:-runs/judge-fashion.safetensors}
RESULTS=${RESULTS:-docs/results}
RENDER_ONLY=${RENDER_ONLY:-}

log() { echo "quality.sh: $*" >&2; }
die() { log "$*"; exit 1; }

[[ $MINUTES =~ ^[0-9]+([.][0-9]+)?$ ]] && awk -v m="$MINUTES" 'BEGIN { exit !(m > 0) }' || die "MINUTES must be a positive number, got '$MINUTES'"
[[ $N =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, got '$N'"
# Timings assume the machine to ourselves: a busy machine slows both sides,
# and PyTorch's OpenMP threads (which spin while waiting) far more than the
# rest. Warn rather than refuse.
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
if awk -v l="$load" 'BEGIN { exit !(l > 1.0) }'; then
	log "warning: load average $load: other processes share the CPU, so the timed training gets less of it (with PyTorch, OMP_WAIT_POLICY=PASSIVE limits the damage)"
fi
command -v jq >/dev/null || die "jq is needed to write the results (apt-get install jq)"
mkdir -p "$RESULTS"

if [[ -z $RENDER_ONLY ]]; then
	if [[ -n ${FORGER:-} ]]; then
		forger=$FORGER
	else
		command -v go >/dev/null || die "go not found on PATH (or set FORGER=/path/to/forger)"
		log "building bin/forger"
		mkdir -p bin
		go build -o bin/forger ./cmd/forger
		forger=bin/forger
	fi
	"$forger" version >&2

	if [[ ! -f $JUDGE ]]; then
		log "training the judge: $JUDGE"
		"$forger" judge train --data fashion-mnist --out "$JUDGE"
	fi

	if [[ -e $RUN/checkpoints/latest.safetensors ]]; then
		log "$RUN already has a checkpoint: evaluating it (delete $RUN to train again)"
	else
		log "training a cdcgan for $MINUTES minutes into $RUN"
		# --epochs is only an upper bound: --minutes ends the run.
		"$forger" train --data fashion-mnist --model cdcgan --minutes "$MINUTES" --epochs 100000 --out "$RUN"
	fi

	log "scoring the last checkpoint with forger eval (n=$N)"
	"$forger" eval --model "$RUN" --judge "$JUDGE" --data fashion-mnist -n "$N" --json >"$RESULTS/fashion-mnist-forger.json.tmp"
	# Training facts from the checkpoint's own state (safetensors metadata).
	ckpt=$RUN/checkpoints/$(readlink "$RUN/checkpoints/latest.safetensors" || echo latest.safetensors)
	hlen=$(head -c 8 "$ckpt" | od -An -t u8 | tr -d ' ')
	train_state=$(head -c "$((8 + hlen))" "$ckpt" | tail -c +9 | jq -c '.__metadata__["forger.train"] | fromjson | {seconds, images, epoch}')
	jq --arg ckpt "$(basename "$ckpt")" --arg run "$RUN" --arg minutes "$MINUTES" --argjson st "$train_state" \
		--arg gemm "$("$forger" version | sed -n 's/^gemm: \([a-z]*\).*/\1/p')" \
		'{generator: "forger cdcgan", run: $run, checkpoint: $ckpt, minutes: ($minutes | tonumber),
		  train_seconds: $st.seconds, kimg: ($st.images / 1000), epochs: $st.epoch, gemm: $gemm, eval: .}' \
		"$RESULTS/fashion-mnist-forger.json.tmp" >"$RESULTS/fashion-mnist-forger.json"
	rm -f "$RESULTS/fashion-mnist-forger.json.tmp"

	grid=$(ls -t "$RUN"/samples/epoch_*.png | head -n 1)
	cp "$grid" "$RESULTS/fashion-mnist-forger-samples.png"
	if [[ -f $RUN/losses.png ]]; then cp "$RUN/losses.png" "$RESULTS/fashion-mnist-forger-losses.png"; fi
	if [[ -f $RUN/progress.gif ]]; then cp "$RUN/progress.gif" "$RESULTS/fashion-mnist-forger-progress.gif"; fi
	log "sample grid: $grid"
fi

# --- fashion-mnist.md -----------------------------------------------------------
[[ -f $RESULTS/fashion-mnist-forger.json ]] || die "no $RESULTS/fashion-mnist-forger.json: run without RENDER_ONLY first"
md=$RESULTS/fashion-mnist.md
tmp=$md.tmp
rows=("$RESULTS/fashion-mnist-forger.json")
[[ -f $RESULTS/fashion-mnist-pytorch.json ]] && rows+=("$RESULTS/fashion-mnist-pytorch.json")

row() { # one table row from a result file
	jq -r '
		def f2: if . == null then "-" else (. * 100 | round / 100 | tostring) end;
		def pct: if . == null then "-" else ((. * 1000 | round / 10 | tostring) + "%") end;
		"| \(.generator) | \(if .train_seconds then (.train_seconds / 60 | round | tostring) + " min" else "\(.minutes) min" end)\(if .kimg then ", \(.kimg | round)k img" else "" end) | \(.eval.fd | f2) | \(.eval.precision | pct) | \(.eval.recall | pct) | \(.eval.class_accuracy | pct) | \(.eval.fd_real | f2) | \(.eval["fd_noise_0.05"] | f2) | \(.eval["fd_noise_0.1"] | f2) | \(.eval.judge_test_accuracy | pct) | \(.eval.n) |"' "$1"
}

{
	echo "# Fashion-MNIST: forger's class-conditional DCGAN"
	echo
	echo "Written by \`scripts/quality.sh\` (\`make quality\`)$([[ ${#rows[@]} -gt 1 ]] && echo " and \`bench/compare-quality.sh\`") on $(date -u +%Y-%m-%d)."
	echo "Each generator trained for the same wall-clock time on the same 2-core machine, then"
	echo "\`forger eval\` scored n generated images (class i mod 10 for image i) against the first n"
	echo "real test images, with the features of forger's judge (\`forger judge train\`): a small CNN"
	echo "classifier trained on 50,000 real training images; the other 10,000 are the held-out split."
	echo
	echo "| generator | training | fd ↓ | precision ↑ | recall ↑ | class accuracy ↑ | fd_real | fd_noise_0.05 | fd_noise_0.1 | judge test accuracy | n |"
	echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for r in "${rows[@]}"; do row "$r"; done
	echo
	echo "- **fd**: Fréchet distance between Gaussian fits of the judge's 128 penultimate features for"
	echo "  generated and real test images (FID's formula on the judge's features; lower is better)."
	echo "- **fd_real**: the same between 10,000 held-out real images and the test images: the floor."
	echo "  **fd_noise_0.05 / 0.1**: real test images with Gaussian pixel noise σ = 0.05 / 0.1 (pixels"
	echo "  in [0, 1], clipped): calibration points for how far a number is from real."
	echo "- **precision / recall**: Kynkäänniemi et al. 2019 with k = 3 in the judge's features:"
	echo "  generated images that fall in the real manifold (quality), and real images that fall in"
	echo "  the generated one (variety)."
	echo "- **class accuracy**: how often the judge recognises the class the generator was asked for."
	echo "  For reference, the judge recognises real test images with the judge test accuracy."
	echo
	echo "## Class accuracy per class"
	echo
	header="| class |"
	sep="| --- |"
	for r in "${rows[@]}"; do
		header+=" $(jq -r .generator "$r") |"
		sep+=" ---: |"
	done
	echo "$header"
	echo "$sep"
	# Fashion-MNIST's classes in label order (JSON objects are unordered).
	classes=("T-shirt/top" Trouser Pullover Dress Coat Sandal Shirt Sneaker Bag "Ankle boot")
	for c in "${classes[@]}"; do
		line="| $c |"
		for r in "${rows[@]}"; do
			line+=" $(jq -r --arg c "$c" '.eval.class_accuracy_per_class[$c] // null | if . == null then "-" else ((. * 1000 | round / 10 | tostring) + "%") end' "$r") |"
		done
		echo "$line"
	done
	echo
	echo "## forger cdcgan"
	echo
	jq -r '"Run `\(.run)`, checkpoint `\(.checkpoint)`, GEMM back-end \(.gemm)."' "${rows[0]}"
	echo
	echo "Samples from the last sample grid (one row per class, \`forger generate --seed\` 0–9 across):"
	echo
	echo "![forger cdcgan samples](fashion-mnist-forger-samples.png)"
	echo
	if [[ -f $RESULTS/fashion-mnist-forger-losses.png ]]; then
		echo "Loss curves:"
		echo
		echo "![forger cdcgan losses](fashion-mnist-forger-losses.png)"
		echo
	fi
	if [[ ${#rows[@]} -gt 1 ]]; then
		echo "## PyTorch cdcgan"
		echo
		jq -r '"The standard conditional DCGAN (`bench/pytorch_cdcgan.py`: z ⊕ one-hot into G, image ⊕ label maps into D, BCE, Adam 2e-4/0.5, batch 64) in PyTorch \(.torch_version), \(.threads) threads: \(.steps) steps (\(.kimg | round)k images) in \(.train_seconds / 60 | round) minutes."' "${rows[1]}"
		echo
		if [[ -f $RESULTS/fashion-mnist-pytorch-samples.png ]]; then
			echo "![PyTorch cdcgan samples](fashion-mnist-pytorch-samples.png)"
			echo
		fi
	fi
	# What was tried and what helped: written by hand from scripts/recipe-ab.sh.
	if [[ -f $RESULTS/fashion-mnist-recipe.md ]]; then
		cat "$RESULTS/fashion-mnist-recipe.md"
		echo
	fi
	echo "Reproduce: \`make quality\` (forger), then \`bench/compare-quality.sh\` (PyTorch, and this file)."
} >"$tmp"
mv "$tmp" "$md"
log "wrote $md"
