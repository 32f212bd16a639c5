#!/usr/bin/env bash
# forger's quality run on faces: train the default (unconditional) dcgan on
# 20,000 cartoon faces at 64×64 for a fixed time, score its last checkpoint
# with forger's face judge, and write the side-by-side section of
# docs/results/faces-64.md (the table, the sample grid, the loss curves, the
# load average during the training).
#
#   scripts/quality-faces.sh                  # 30 minutes of training (make quality-faces)
#   MINUTES=0.5 N=500 RUN=/tmp/qf RESULTS=/tmp/qf-results scripts/quality-faces.sh   # a quick check
#
# Environment:
#   MINUTES      training time in minutes (default 30; also the first argument)
#   N            images on each side of forger eval (default 5000, all of the
#                face judge's test faces: keep it, fd depends on the count)
#   RUN          the run folder (default runs/quality-faces-64). A run that
#                already has a checkpoint is evaluated again, not retrained:
#                delete it to retrain.
#   MODEL        dcgan (default), stylegan or vae: the model forger trains.
#                Another model than dcgan writes faces-64-MODEL.json and
#                faces-64-MODEL-samples.png/-losses.png/-progress.gif and
#                leaves faces-64.md (forger's dcgan against PyTorch's) alone.
#   TRAIN_FLAGS  extra flags for forger train, e.g. "--loss bce --d-norm batch"
#                (default none: forger's dcgan defaults)
#   JUDGE        the face judge (default runs/judge-faces-64.safetensors);
#                trained first when missing (forger judge train --data
#                cartoon-faces --size 64)
#   RESULTS      where the results go (default docs/results)
#   FORGER       a prebuilt forger binary (default: go build into bin/forger)
#   RENDER_ONLY=1  only rewrite the section of faces-64.md from the JSON
#                results already in RESULTS (bench/compare-quality-faces.sh
#                uses it)
#
# Results: RESULTS/faces-64.md, faces-64-forger.json (forger eval --json
# with the training facts and the load average), faces-64-forger-samples.png,
# faces-64-forger-losses.png, faces-64-forger-progress.gif. A
# faces-64-pytorch.json left by bench/compare-quality-faces.sh becomes the
# table's second row. Only the part of faces-64.md between the
# "quality-faces" markers is rewritten: the rest (the recipe A/B table of
# scripts/recipe-ab-faces.sh, notes) is kept as it is.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MINUTES=${1:-${MINUTES:-30}}
N=${N:-5000}
RUN=${RUN:-runs/quality-faces-64}
JUDGE=${JUDGE:-runs/judge-faces-64.safetensors}
RESULTS=${RESULTS:-docs/results}
TRAIN_FLAGS=${TRAIN_FLAGS:-}
MODEL=${MODEL:-dcgan}
RENDER_ONLY=${RENDER_ONLY:-}
FACES=20000 # the data set: forger data get cartoon-faces --n 20000 --size 64
SIZE=64

log() { echo "quality-faces.sh: $*" >&2; }
die() { log "$*"; exit 1; }

[[ $MINUTES =~ ^[0-9]+([.][0-9]+)?$ ]] && awk -v m="$MINUTES" 'BEGIN { exit !(m > 0) }' || die "MINUTES must be a positive number, got '$MINUTES'"
[[ $N =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, got '$N'"
[[ $MODEL =~ ^(dcgan|stylegan|vae)$ ]] || die "MODEL must be dcgan, stylegan or vae, got '$MODEL'"
# The result files' prefix: faces-64-forger for the dcgan of faces-64.md's table.
prefix=faces-64-forger
[[ $MODEL == dcgan ]] || prefix=faces-64-$MODEL
[[ " $TRAIN_FLAGS " =~ [[:space:]]--(epochs|minutes|out|data|size|model|resume|json)([[:space:]=]) ]] &&
	die "TRAIN_FLAGS may not hold --${BASH_REMATCH[1]}: the script chooses it (set MINUTES and RUN; the run trains until the clock)"
command -v jq >/dev/null || die "jq is needed to write the results (apt-get install jq)"
mkdir -p "$RESULTS"

# shellcheck source=scripts/lib/load.sh
source scripts/lib/load.sh

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
	# Timings assume the machine to ourselves: the load average is sampled
	# during the training and printed with every figure.
	load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
	if awk -v l="$load" 'BEGIN { exit !(l > 1.0) }'; then
		log "warning: load average $load: other processes share the CPU, so the timed training gets less of it"
	fi

	data=$("$forger" data get cartoon-faces --n "$FACES" --size "$SIZE" | tail -n 1)
	data=${data##* is in }
	[[ -d $data/images ]] || die "cartoon faces not found (forger data get cartoon-faces said '$data')"

	if [[ ! -f $JUDGE ]]; then
		log "training the face judge: $JUDGE"
		mkdir -p "$(dirname "$JUDGE")"
		"$forger" judge train --data cartoon-faces --size "$SIZE" --out "$JUDGE"
	fi

	if [[ -e $RUN/checkpoints/latest.safetensors ]]; then
		log "$RUN already has a checkpoint: evaluating it (delete $RUN to train again)"
	else
		log "training a $MODEL on $FACES cartoon faces at ${SIZE}×$SIZE for $MINUTES minutes into $RUN${TRAIN_FLAGS:+ (flags: $TRAIN_FLAGS)}"
		tmp=$(mktemp -d "${TMPDIR:-/tmp}/quality-faces.XXXXXX")
		trap 'stop_sampler; rm -rf "$tmp"' EXIT
		load_sampler "$tmp/load.txt"
		# --minutes without --epochs: the run trains until the clock.
		# shellcheck disable=SC2086
		"$forger" train --data cartoon-faces --size "$SIZE" --model "$MODEL" --minutes "$MINUTES" --out "$RUN" --json $TRAIN_FLAGS >"$tmp/train.json"
		stop_sampler
		jq --arg flags "$TRAIN_FLAGS" --argjson load "$(load_json "$tmp/load.txt")" \
			'{train: ., train_flags: $flags, load: $load}' "$tmp/train.json" >"$RUN/quality.json"
		cp "$tmp/load.txt" "$RUN/quality-load.txt"
	fi

	log "scoring the last checkpoint with forger eval (n=$N)"
	"$forger" eval --model "$RUN" --judge "$JUDGE" --data cartoon-faces -n "$N" --json >"$RESULTS/$prefix.json.tmp"
	# Training facts from the checkpoint's own state (safetensors metadata).
	ckpt=$RUN/checkpoints/$(readlink "$RUN/checkpoints/latest.safetensors" || echo latest.safetensors)
	hlen=$(head -c 8 "$ckpt" | od -An -t u8 | tr -d ' ')
	train_state=$(head -c "$((8 + hlen))" "$ckpt" | tail -c +9 | jq -c '.__metadata__["forger.train"] | fromjson | {seconds, images, epoch, data_len, options}')
	quality='{}'
	[[ -f $RUN/quality.json ]] && quality=$(jq -c . "$RUN/quality.json")
	jq --arg ckpt "$(basename "$ckpt")" --arg run "$RUN" --arg minutes "$MINUTES" --argjson st "$train_state" --argjson q "$quality" \
		--arg gemm "$("$forger" version | sed -n 's/^gemm: \([a-z0-9]*\).*/\1/p')" --arg judge "$JUDGE" \
		--arg gen "forger $MODEL" \
		'{generator: $gen, run: $run, checkpoint: $ckpt, judge: $judge,
		  minutes: ($minutes | tonumber), train_seconds: $st.seconds, images: $st.images, kimg: ($st.images / 1000),
		  epochs: ($st.images / $st.data_len), data_images: $st.data_len,
		  images_per_sec: (if $st.seconds > 0 then $st.images / $st.seconds else null end),
		  options: $st.options, train_flags: ($q.train_flags // null), warnings: ($q.train.warnings // []),
		  load: ($q.load // null), gemm: $gemm, eval: .}' \
		"$RESULTS/$prefix.json.tmp" >"$RESULTS/$prefix.json"
	rm -f "$RESULTS/$prefix.json.tmp"

	grid=$(ls -t "$RUN"/samples/epoch_*.png | head -n 1)
	cp "$grid" "$RESULTS/$prefix-samples.png"
	if [[ -f $RUN/losses.png ]]; then cp "$RUN/losses.png" "$RESULTS/$prefix-losses.png"; fi
	if [[ -f $RUN/progress.gif ]]; then cp "$RUN/progress.gif" "$RESULTS/$prefix-progress.gif"; fi
	log "sample grid: $grid"
fi
if [[ $MODEL != dcgan ]]; then
	log "wrote $RESULTS/$prefix.json (faces-64.md's table is the dcgan's: not rewritten)"
	exit 0
fi

# --- faces-64.md: the side-by-side section ------------------------------------------
[[ -f $RESULTS/faces-64-forger.json ]] || die "no $RESULTS/faces-64-forger.json: run without RENDER_ONLY first"
md=$RESULTS/faces-64.md
rows=("$RESULTS/faces-64-forger.json")
[[ -f $RESULTS/faces-64-pytorch.json ]] && rows+=("$RESULTS/faces-64-pytorch.json")

row() { # one table row from a result file
	jq -r '
		def f2: if . == null then "-" else (. * 100 | round / 100 | tostring) end;
		def f3: if . == null then "-" else (. * 1000 | round / 1000 | tostring) end;
		def pct: if . == null then "-" else ((. * 1000 | round / 10 | tostring) + "%") end;
		def dur: if . == null then "-" elif . < 90 then "\(. | round) s" else "\(. / 60 | floor) min \(. - (. / 60 | floor) * 60 | round) s" end;
		def mins: if . >= 10 then (. | round | tostring) else (. * 10 | round / 10 | tostring) end;
		"| \(.generator) | \(if .train_seconds then (.train_seconds / 60 | mins) + " min" else "\(.minutes) min" end), \(.kimg * 10 | round / 10)k img, \(.epochs * 100 | round / 100) epochs | \(.eval.fd | f2) | \(.eval.precision | pct) | \(.eval.recall | pct) | \(.eval.attr_gap | f3) | \(.eval.fd_real | f2) | \(.eval["fd_noise_0.05"] | f2) | \(.eval["fd_noise_0.1"] | f2) | \(.images_per_sec | if . == null then "-" else (. * 10 | round / 10 | tostring) end) | \(if .images_per_sec then (.data_images / .images_per_sec | dur) else "-" end) | \(if .load then "\(.load.mean) (max \(.load.max))" else "-" end) | \(.eval.n) |"' "$1"
}

begin="<!-- quality-faces: begin. Written by scripts/quality-faces.sh and bench/compare-quality-faces.sh, which rewrite only what lies between these markers. -->"
end="<!-- quality-faces: end -->"
section=$(mktemp "${TMPDIR:-/tmp}/faces-64-section.XXXXXX")
{
	echo "$begin"
	echo
	echo "## Side by side: forger and PyTorch's DCGAN, equal minutes"
	echo
	echo "Written by \`scripts/quality-faces.sh\` (\`make quality-faces\`)$([[ ${#rows[@]} -gt 1 ]] && echo " and \`bench/compare-quality-faces.sh\` (\`make compare-quality-faces\`)") on $(date -u +%Y-%m-%d)."
	echo "Each generator trained for the same wall-clock time on the same $(jq -r '.data_images // 20000' "${rows[0]}" | sed 's/\([0-9]\)\([0-9]\{3\}\)$/\1,\2/') cartoon faces at 64×64"
	echo "(\`forger data get cartoon-faces --n 20000 --size 64\`) on the same 2-core machine, then \`forger eval\`"
	echo "scored n generated images against the first n of the face judge's real test faces, in the features of"
	echo "forger's face judge (\`$(jq -r '.judge // "runs/judge-faces-64.safetensors"' "${rows[0]}")\`: a CNN trained on the six attributes and"
	echo "the skin tone of the other faces)."
	echo
	echo "| generator | training | fd ↓ | precision ↑ | recall ↑ | attr_gap ↓ | fd_real | fd_noise_0.05 | fd_noise_0.1 | images/s | time per epoch | load average | n |"
	echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for r in "${rows[@]}"; do row "$r"; done
	echo
	echo "- **fd**: Fréchet distance between Gaussian fits of the judge's penultimate features for generated"
	echo "  and real test faces (FID's formula on the judge's features; lower is better). **fd_real**: the same"
	echo "  between held-out real faces and the test faces: the floor. **fd_noise_0.05 / 0.1**: real test faces"
	echo "  with Gaussian pixel noise σ = 0.05 / 0.1 (pixels in [0, 1], clipped): calibration points."
	echo "- **precision / recall**: Kynkäänniemi et al. 2019 with k = 3 in the judge's features: generated faces"
	echo "  that fall in the real manifold (quality), and real faces that fall in the generated one (variety)."
	echo "- **attr_gap**: the largest difference, over the attributes below, between the share of generated and"
	echo "  of real faces in which the judge sees the attribute: a generator that forgets hats shows it here."
	echo "- **images/s**: real images shown to D per second of training; **time per epoch**: the data set's size"
	echo "  divided by it. **load average**: the 1-minute load average sampled every 10 s during the training,"
	echo "  mean (and max). The training's own 2 threads account for about 2 of it on the 2 cores: well above 2,"
	echo "  other work shared the CPU, and images/s (and what the minutes bought) is below a quiet machine's."
	echo
	echo "### Attributes: share of faces, generated and real"
	echo
	header="| attribute | real |"
	sep="| --- | ---: |"
	for r in "${rows[@]}"; do
		header+=" $(jq -r .generator "$r") |"
		sep+=" ---: |"
	done
	echo "$header"
	echo "$sep"
	for a in $(jq -r '.eval.attr_real // {} | keys_unsorted[]' "${rows[0]}"); do
		line="| $a | $(jq -r --arg a "$a" '.eval.attr_real[$a] | (. * 1000 | round / 10 | tostring) + "%"' "${rows[0]}") |"
		for r in "${rows[@]}"; do
			line+=" $(jq -r --arg a "$a" '.eval.attr_gen[$a] // null | if . == null then "-" else ((. * 1000 | round / 10 | tostring) + "%") end' "$r") |"
		done
		echo "$line"
	done
	echo
	echo "### forger dcgan"
	echo
	jq -r '
		def recipe: "loss \(.loss), D norm \(if .spectral_norm then "spectral" elif .d_no_norm then "none" else "batch" end)\(if (.d_arch // "dcgan") != "dcgan" then ", D " + .d_arch else "" end)\(if .mbstd then ", minibatch stddev" else "" end)\(if (.r1 // 0) > 0 then ", R1 γ \(.r1)" else "" end), Adam lr G \(.lr_g) / D \(.lr_d), betas (\(.beta1), \(.beta2)), batch \(.batch), ngf \(.ngf), ndf \(.ndf), EMA \(.ema)\(if (.augment // "none") != "none" then ", augment " + .augment else "" end)";
		"Run `\(.run)`, checkpoint `\(.checkpoint)`, GEMM back-end \(.gemm). Recipe: \(.options | recipe)" +
		(if (.train_flags // "") != "" then " (`forger train` flags: `\(.train_flags)`)." else " (forger'"'"'s defaults)." end)' "${rows[0]}"
	jq -r '.warnings // [] | if length > 0 then "\nWarnings from the training:\n" + (map("- " + .) | join("\n")) else empty end' "${rows[0]}"
	echo
	echo "Samples from the last sample grid (the state of the last checkpoint):"
	echo
	echo "![forger dcgan samples](faces-64-forger-samples.png)"
	echo
	if [[ -f $RESULTS/faces-64-forger-losses.png ]]; then
		echo "Loss curves:"
		echo
		echo "![forger dcgan losses](faces-64-forger-losses.png)"
		echo
	fi
	if [[ ${#rows[@]} -gt 1 ]]; then
		echo "### PyTorch DCGAN"
		echo
		jq -r '"pytorch/examples'"'"' DCGAN (`bench/pytorch_dcgan_faces.py`: the example'"'"'s networks and training step, nz 100, ngf = ndf = 64, BCE, batch norm in D, Adam 2e-4, betas (0.5, 0.999), batch 64) in PyTorch \(.torch_version) (Debian'"'"'s python3-torch), \(.threads) torch threads, OpenBLAS \(.blas_threads // "?") thread\(if .blas_threads == 1 then "" else "s" end)\(if .omp.OMP_WAIT_POLICY then ", OMP_WAIT_POLICY=" + .omp.OMP_WAIT_POLICY else "" end): \(.steps) steps (\(.kimg * 10 | round / 10)k images) in \(.train_seconds / 60 * 10 | round / 10) minutes. Samples from G in eval mode."' "${rows[1]}"
		echo
		if [[ -f $RESULTS/faces-64-pytorch-samples.png ]]; then
			echo "![PyTorch DCGAN samples](faces-64-pytorch-samples.png)"
			echo
		fi
		if [[ -f $RESULTS/faces-64-pytorch-losses.png ]]; then
			echo "Loss curves:"
			echo
			echo "![PyTorch DCGAN losses](faces-64-pytorch-losses.png)"
			echo
		fi
	fi
	echo "Reproduce: \`make quality-faces\` (forger; \`TRAIN_FLAGS\` for another recipe), then \`make compare-quality-faces\`"
	echo "(PyTorch, and this section)."
	echo
	echo "$end"
} >"$section"

# Splice the section into faces-64.md: in place of the old one; else before
# the file's first "## " heading; else at its end (or as a new file).
tmp_md=$md.tmp
if [[ -f $md ]] && grep -qF -- "$begin" "$md" && grep -qF -- "$end" "$md"; then
	awk -v b="$begin" -v e="$end" -v f="$section" '
		$0 == b { while ((getline l < f) > 0) print l; skip = 1; next }
		skip && $0 == e { skip = 0; next }
		!skip' "$md" >"$tmp_md"
elif [[ -f $md ]]; then
	awk -v f="$section" '
		!done && /^## / { while ((getline l < f) > 0) print l; print ""; done = 1 }
		{ print }
		END { if (!done) { print ""; while ((getline l < f) > 0) print l } }' "$md" >"$tmp_md"
else
	{
		echo "# Cartoon faces at 64×64"
		echo
		cat "$section"
	} >"$tmp_md"
fi
rm -f "$section"
mv "$tmp_md" "$md"
log "wrote $md"
