#!/usr/bin/env bash
# The latent-space run (issue #6's Done-when): a dcgan on cartoon-faces at
# 32×32 (from the 64×64 rendering, downscaled as it loads), attribute
# classifiers, learned directions (mustache, smiling…), the
# edit check on 200 faces each, an encoder, and the pictures of
# docs/results/cartoon-faces.md (morph, blend, projection of a real photo,
# edit strips). Each step is skipped when its output exists, so the script
# resumes; delete a file to redo its step.
#
#   MINUTES=30   training time of the GAN (for a new run)
#   RUN=runs/cartoon-faces-32   the run folder (directions/ and
#                encoder.safetensors go there, where `forger serve` finds them)
#   N=200        faces per direction check
set -euo pipefail
cd "$(dirname "$0")/.."
F=${FORGER:-bin/forger}
RUN=${RUN:-runs/cartoon-faces-32}
MINUTES=${MINUTES:-30}
SIZE=32
N=${N:-200}
CLF=${CLF:-runs/attr32}
OUT=docs/results/cartoon-faces
DIRS=$RUN/directions
mkdir -p "$CLF" "$DIRS" "$OUT" runs/faces-work
log() { echo "== $(date +%H:%M:%S) $*" >&2; }

[ -x "$F" ] || { echo "faces.sh: $F not found: run bash scripts/setup.sh first" >&2; exit 1; }
log "data: cartoon faces, 20000 at 64×64"
data=$("$F" data get cartoon-faces --n 20000 --size 64 | tail -1)

if [ ! -e "$RUN/checkpoints/latest.safetensors" ]; then
	log "training a dcgan for $MINUTES minutes"
	"$F" train --data "$data" --size $SIZE --out "$RUN" --epochs 1000 --minutes "$MINUTES"
fi
M=$RUN/checkpoints/latest.safetensors

for a in mustache male glasses hat smiling dark_skin; do
	if [ ! -e "$CLF/$a.safetensors" ]; then
		log "attribute classifier: $a"
		# --lr 5e-4: at 32 px the default 2e-3 never learns "smiling".
		"$F" data get cartoon-faces --n 20000 --size $SIZE >/dev/null
		"$F" attribute train --data cartoon-faces --size $SIZE --lr 5e-4 --batch 128 --attribute "$a" --out "$CLF/$a.safetensors" --json >"$CLF/$a.json"
	fi
done

learn() { # name [extra flags…]
	local a=$1
	shift
	if [ ! -e "$DIRS/$a.json" ]; then
		log "direction: $a"
		"$F" direction learn --model "$M" --attribute "$a" --judge "$CLF/$a.safetensors" --samples 20000 "$@" --out "$DIRS/$a.json"
	fi
}
learn male
learn glasses
learn hat
learn mustache --orthogonal-to "$DIRS/male.json,$DIRS/glasses.json,$DIRS/hat.json"
learn smiling --orthogonal-to "$DIRS/male.json,$DIRS/glasses.json,$DIRS/hat.json"
learn dark_skin
# The smile keeps male, glasses and hat (the bar) but darkens the skin of
# about a third of the faces; this variant keeps the skin too.
if [ ! -e "$RUN/smiling-keep-skin.json" ]; then
	"$F" direction learn --model "$M" --attribute smiling --judge "$CLF/smiling.safetensors" --samples 20000 \
		--orthogonal-to "$DIRS/male.json,$DIRS/glasses.json,$DIRS/hat.json,$DIRS/dark_skin.json" --out "$RUN/smiling-keep-skin.json"
fi

check() { # name where-or-empty tag [direction file]
	local a=$1 where=$2 tag=$3 dir=${4:-$DIRS/$1.json}
	local res=runs/faces-work/check-$a$tag.json
	if [ ! -e "$res" ]; then
		log "check: $a ${where:+(where $where)}"
		"$F" direction check --model "$M" --direction "$dir" --classifier-dir "$CLF" \
			--preserve male,glasses,hat,dark_skin -n "$N" --strength 3 ${where:+--where "$where"} \
			--out "$OUT/check-$a$tag.png" --json >"$res.tmp"
		mv "$res.tmp" "$res"
	fi
	cat "$res"
}
check mustache male=1 -men
check mustache "" -all
check smiling "" -all
check smiling "" -keep-skin "$RUN/smiling-keep-skin.json"
for seed in 2000000 3000000; do # two more sets of 200 faces
	"$F" direction check --model "$M" --direction "$DIRS/mustache.json" --classifier-dir "$CLF" --preserve male,glasses,hat,dark_skin \
		-n "$N" --where male=1 --seed $seed --json
	"$F" direction check --model "$M" --direction "$DIRS/smiling.json" --classifier-dir "$CLF" --preserve male,glasses,hat,dark_skin \
		-n "$N" --seed $seed --json
done

if [ ! -e "$RUN/encoder.safetensors" ]; then
	log "encoder"
	# Iterative (4 passes), trained with the projection's own loss (pixels +
	# the male classifier's features); half of every batch is real faces of
	# the data set: the first 19,000 (the last 1,000 stay held out), half of
	# them made photo-like (new background, colour cast, blur, noise).
	"$F" encoder train --model "$M" --samples 400000 --width 64 --iterations 4 --features judge --features-judge "$CLF/male.safetensors" \
		--data "$data" --data-limit 19000 --photo-like --out "$RUN/encoder.safetensors" --json >runs/faces-work/encoder.json
fi

log "pictures"
"$F" morph --model "$M" --from 11 --to 22 --via 33 --via 44 --frames 72 --spherical --out "$OUT/morph.gif" >/dev/null
"$F" blend --model "$M" 11 22 --spherical --out runs/faces-work/blend-child.png --family "$OUT/blend-family.png" >/dev/null
"$F" edit --model "$M" --seed 9 --direction "$DIRS/mustache.json" --strengths 0:3:4 --out "$OUT/edit-mustache.png" >/dev/null
"$F" edit --model "$M" --seed 12 --direction "$DIRS/smiling.json" --strengths -3:3:7 --out "$OUT/edit-smiling.png" >/dev/null
"$F" edit --model "$M" --seed 12 --direction "$RUN/smiling-keep-skin.json" --strengths -3:3:7 --out "$OUT/edit-smiling-keep-skin.png" >/dev/null
"$F" edit --model "$M" --seed 12 --direction "$DIRS/smiling.json" --strengths -3:3:13 --out "$OUT/edit-smiling.gif" >/dev/null

# A real photo: face-api's sample photo, aligned by the eyes, then projected
# from the encoder's guess with the perceptual loss of an attribute classifier.
photos=$("$F" models path)
for i in 1 2; do
	"$F" face align "$photos/sample$i.jpg" runs/faces-work/aligned --size 64 --layout cartoon >/dev/null
done
"$F" project --model "$M" runs/faces-work/aligned/sample1.png --init encoder --encoder "$RUN/encoder.safetensors" \
	--features-judge "$CLF/male.safetensors" --steps 300 --out runs/faces-work/project-sample1 --json >runs/faces-work/project-sample1.json
cp runs/faces-work/aligned/sample1.png "$OUT/project-photo.png"
cp runs/faces-work/project-sample1/compare.png "$OUT/project-compare.png"
cp runs/faces-work/project-sample1/projection.gif "$OUT/project-steps.gif"
# The encoder's bar: how many steps from the encoder's start reach the loss
# that 300 steps from the mean reach, on 32 held-out generated faces, two
# rendered faces of the data set and the two photos; with Adam (the
# default) and with L-BFGS.
for opt in adam lbfgs; do
	if [ ! runs/faces-work/compare-init-$opt/done -nt "$RUN/encoder.safetensors" ]; then
		log "encoder vs mean start ($opt)"
		"$F" project --model "$M" --compare-init --encoder "$RUN/encoder.safetensors" -n 32 --optimizer $opt \
			"$data/images/019990.png" "$data/images/019995.png" runs/faces-work/aligned/sample1.png runs/faces-work/aligned/sample2.png \
			--features-judge "$CLF/male.safetensors" --out runs/faces-work/compare-init-$opt --json >runs/faces-work/compare-init-$opt.json
		touch runs/faces-work/compare-init-$opt/done
	fi
	cp runs/faces-work/compare-init-$opt/init-curves-generated.png "$OUT/init-curves-generated-$opt.png"
	cp runs/faces-work/compare-init-$opt/init-curves-sample1.png "$OUT/init-curves-photo-$opt.png"
done
# The same on ten held-out rendered faces, one by one (Adam).
if [ ! runs/faces-work/compare-init-rendered/done -nt "$RUN/encoder.safetensors" ]; then
	log "encoder vs mean start on 10 held-out rendered faces"
	"$F" project --model "$M" --compare-init --encoder "$RUN/encoder.safetensors" -n 0 \
		$(for i in 019900 019910 019920 019930 019940 019950 019960 019970 019990 019995; do echo "$data/images/$i.png"; done) \
		--features-judge "$CLF/male.safetensors" --out runs/faces-work/compare-init-rendered --json >runs/faces-work/compare-init-rendered.json
	touch runs/faces-work/compare-init-rendered/done
fi
log "done: results in runs/faces-work/*.json, pictures in $OUT"
