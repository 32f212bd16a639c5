#!/usr/bin/env bash
# forger on small data sets (the issue "Small data"): fixed subsets of 300
# and 1,000 cartoon faces at 64×64 (the first faces of the 20,000-face set,
# rendered by `forger data get cartoon-faces --n N --size 64 --dir ...`),
# trained for MINUTES each without and with augmentation (AUGMENT: ADA unless
# told otherwise), then fine-tuned for
# FROM_MINUTES from a model of the 20,000 faces (--from), all scored by the
# face judge against the full set's test faces and checked for copies
# (forger eval --nearest). Writes RESULTS/small-data.md with the table and
# the grids.
#
#   scripts/small-data.sh                                     # 30 + 5 minutes per run
#   MINUTES=1 FROM_MINUTES=0.5 N=500 RUN=/tmp/sd RESULTS=/tmp/sd-results scripts/small-data.sh
#   AUGMENT=diffaugment FROM_MINUTES=0 SUBSETS=300 RUN=runs/small-data-diffaugment \
#     RESULTS=docs/results/small-data-diffaugment scripts/small-data.sh      # DiffAugment, no fine-tuning
#
# The runs of a pair train at the same time, one core each (GOMAXPROCS=1),
# so that both see the same machine: the pair (none, AUGMENT) for each subset,
# then the pair (--from with ada on the subset of 300, --from with ada on the
# one-person set PERSON), so a pair's figures compare with each other and
# with the other pairs' (every run had one core). With ONE_AT_A_TIME=1 every
# run has the whole machine instead, one after another, as a user's single
# run would (twice the images in the same minutes on 2 cores). Evaluations
# run one at a time after each pair.
#
# Environment:
#   MINUTES       training minutes of the from-scratch runs (default 30)
#   FROM_MINUTES  training minutes of the fine-tuning runs (default 5; 0 skips them)
#   AUGMENT       the augmentation set against none: ada (default) or diffaugment
#   SUBSETS       subset sizes (default "300 1000")
#   N             images on each side of forger eval (default 5000)
#   FROM          the 20,000-face model to fine-tune (default
#                 runs/quality-faces-64, left by make quality-faces)
#   PERSON        seed of the one-person set for the journey (default 14;
#                 forger data get cartoon-faces --person 14 --size 64)
#   ONE_AT_A_TIME 1: each run on all cores, one after another (default 0: pairs, one core each)
#   RUN           folder of the runs and subsets (default runs/small-data);
#                 a run that has a checkpoint is evaluated, not retrained
#   JUDGE         the face judge (default runs/judge-faces-64.safetensors)
#   RESULTS       where the results go (default docs/results)
#   FORGER        a prebuilt forger binary (default: go build into RUN/forger)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MINUTES=${MINUTES:-30}
FROM_MINUTES=${FROM_MINUTES:-5}
AUGMENT=${AUGMENT:-ada}
SUBSETS=${SUBSETS:-300 1000}
N=${N:-5000}
FROM=${FROM:-runs/quality-faces-64}
PERSON=${PERSON:-14}
ONE_AT_A_TIME=${ONE_AT_A_TIME:-0}
RUN=${RUN:-runs/small-data}
JUDGE=${JUDGE:-runs/judge-faces-64.safetensors}
RESULTS=${RESULTS:-docs/results}
SIZE=64

log() { echo "small-data.sh: $*" >&2; }
die() { log "$*"; exit 1; }

for v in MINUTES FROM_MINUTES; do
	[[ ${!v} =~ ^[0-9]+([.][0-9]+)?$ ]] || die "$v must be a positive number, got '${!v}'"
done
[[ $N =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, got '$N'"
[[ $ONE_AT_A_TIME == 0 || $ONE_AT_A_TIME == 1 ]] || die "ONE_AT_A_TIME must be 0 or 1, got '$ONE_AT_A_TIME'"
cores=1
[[ $ONE_AT_A_TIME == 0 ]] || cores=$(nproc)
[[ $AUGMENT == ada || $AUGMENT == diffaugment ]] || die "AUGMENT must be ada or diffaugment, got '$AUGMENT'"
finetune=1
[[ $FROM_MINUTES =~ ^0*([.]0*)?$ ]] && finetune=0
command -v jq >/dev/null || die "jq is needed to write the results (apt-get install jq)"
[[ -f $JUDGE ]] || die "no face judge at $JUDGE: forger judge train --data cartoon-faces --size 64 --out $JUDGE"
[[ $finetune == 0 || -e $FROM/checkpoints/latest.safetensors || -f $FROM ]] || die "no 20,000-face model at $FROM: make quality-faces (or set FROM, or FROM_MINUTES=0)"
mkdir -p "$RUN" "$RESULTS"
# Links from the results file to faces-64.md, wherever RESULTS is.
faces64=$(realpath --relative-to="$RESULTS" docs/results/faces-64.md)

if [[ -n ${FORGER:-} ]]; then
	forger=$FORGER
else
	log "building $RUN/forger"
	go build -o "$RUN/forger" ./cmd/forger
	forger=$RUN/forger
fi

# shellcheck source=scripts/lib/load.sh
source scripts/lib/load.sh
trap stop_sampler EXIT

# The data: subsets of the 20,000-face set (face i depends only on the seed
# and i, so --n 300 renders the set's first 300) and the one-person set.
for n in $SUBSETS; do
	"$forger" data get cartoon-faces --n "$n" --size "$SIZE" --dir "$RUN/faces-$n" >/dev/null
done
if [[ $finetune == 1 ]]; then
	person=$("$forger" data get cartoon-faces --person "$PERSON" --size "$SIZE" | tail -n 1)
	person=${person##* is in }
	[[ -d $person/images ]] || die "the person set was not made (forger data get cartoon-faces --person $PERSON said '$person')"
fi

# train NAME DATA MINUTES FLAGS...: one run, in the background, on one core
# (on all of them, and waited for, with ONE_AT_A_TIME=1; the load is sampled
# into the file of the pair the run belongs to, PAIR).
pids=()
train() {
	local name=$1 data=$2 minutes=$3
	shift 3
	if [[ -e $RUN/$name/checkpoints/latest.safetensors ]]; then
		log "$RUN/$name has a checkpoint: evaluating it (delete it to train again)"
		return
	fi
	log "training $name: --data $data --minutes $minutes $*"
	GOMAXPROCS=$cores "$forger" train --data "$data" --size "$SIZE" --model dcgan --minutes "$minutes" --out "$RUN/$name" --json "$@" \
		>"$RUN/$name.train.json" 2>"$RUN/$name.train.log" &
	pids+=($!)
	[[ $ONE_AT_A_TIME == 0 ]] || pair "$PAIR"
}
# pair: waits for the runs started since the last pair, sampling the load.
pair() {
	[[ ${#pids[@]} -gt 0 ]] || return 0
	load_sampler "$RUN/load-$1.txt"
	local ok=0
	for p in "${pids[@]}"; do wait "$p" || ok=1; done
	pids=()
	stop_sampler
	[[ $ok == 0 ]] || die "a training of pair $1 failed: see $RUN/*.train.log"
}
# score NAME DATA: forger eval with the memorisation check against DATA.
score() {
	local name=$1 data=$2
	log "scoring $name"
	"$forger" eval --model "$RUN/$name" --judge "$JUDGE" --data cartoon-faces -n "$N" \
		--nearest "$data" --nearest-out "$RESULTS/small-data-$name-nearest.png" --json >"$RUN/$name.eval.json"
	cp "$(ls -t "$RUN/$name"/samples/*.png | head -n 1)" "$RESULTS/small-data-$name-samples.png"
}

for n in $SUBSETS; do
	PAIR=$n
	train "$n-none" "$RUN/faces-$n" "$MINUTES" --augment none
	train "$n-$AUGMENT" "$RUN/faces-$n" "$MINUTES" --augment "$AUGMENT"
	pair "$n"
	score "$n-none" "$RUN/faces-$n"
	score "$n-$AUGMENT" "$RUN/faces-$n"
	"$forger" augment preview --data "$RUN/faces-$n" --augment "$AUGMENT" --p "$(jq -r '.augment_p // 0.5' "$RUN/$n-$AUGMENT.train.json")" \
		--out "$RESULTS/small-data-$n-training-set.png" >/dev/null
done
first=${SUBSETS%% *}
if [[ $finetune == 1 ]]; then
	PAIR=from
	train "$first-from" "$RUN/faces-$first" "$FROM_MINUTES" --from "$FROM" --augment ada
	train "person-from" "$person" "$FROM_MINUTES" --from "$FROM" --augment ada
	pair from
	score "$first-from" "$RUN/faces-$first"
	score "person-from" "$person"
	"$forger" augment preview --data "$person" --augment none --n 8 --out "$RESULTS/small-data-person-training-set.png" >/dev/null
fi

# --- small-data.md ------------------------------------------------------------
row() { # NAME SET WHAT
	local name=$1 set=$2 what=$3 pairname=$4
	jq -r --arg set "$set" --arg what "$what" --argjson load "$(load_json "$RUN/load-$pairname.txt")" '
		def f2: if . == null then "-" else (. * 100 | round / 100 | tostring) end;
		def f3: if . == null then "-" else (. * 1000 | round / 1000 | tostring) end;
		def pct: if . == null or . < 0 then "-" else ((. * 1000 | round / 10 | tostring) + "%") end;
		.[0] as $t | .[1] as $e |
		"| \($set) | \($what) | \($t.seconds / 60 * 10 | round / 10) min, \($t.images / 1000 * 10 | round / 10)k img | \(if $t.augment == "none" then "-" else ($t.augment_p | f3) end) | \($e.fd | f2) | \($e.precision | pct) | \($e.recall | pct) | \($e.attr_gap | f3) | \($e.memorised | pct) | \($e.memorised_real | pct) | \($e.fd_train | f2) | \($e.d_sign_train | f2) / \($e.d_sign_heldout | f2) | \($load.mean) (max \($load.max)) |"' \
		<(jq -s '.' "$RUN/$name.train.json" "$RUN/$name.eval.json")
}
md=$RESULTS/small-data.md
{
	title="Small data: $(echo "$SUBSETS" | sed 's/ / and /g') faces, without and with $AUGMENT"
	if [[ $finetune == 1 ]]; then title+=", and fine-tuning"; fi
	echo "# $title"
	echo
	echo "Written by \`scripts/small-data.sh\` (\`make small-data\`) on $(date -u +%Y-%m-%d). The subsets are the first $(echo "$SUBSETS" | sed 's/ / and /g')"
	echo "faces of the 20,000-face set (\`forger data get cartoon-faces --n N --size 64 --dir ...\`). Every run trained on"
	if [[ $ONE_AT_A_TIME == 1 ]]; then
		echo "all $cores cores, one run at a time (\`ONE_AT_A_TIME=1\`): each subset's none, then its $AUGMENT."
	else
		echo "one core (GOMAXPROCS=1), two runs at a time on the 2-core machine: each subset's pair (none, $AUGMENT) together."
		if [[ $finetune == 1 ]]; then echo "Then the two fine-tuning runs together."; fi
	fi
	echo "Each run's last checkpoint is scored by \`forger eval\` against the face judge's"
	echo "$N real test faces of the full 20,000-face set (the same judge and test faces as [faces-64.md]($faces64))."
	[[ $finetune == 0 ]] || echo "The fine-tuning runs start from \`$FROM\` (\`make quality-faces\`: $(jq -r '"\(.minutes) minutes on 20,000 faces, fd \(.eval.fd * 10 | round / 10)"' "$RESULTS/faces-64-forger.json" 2>/dev/null || echo "a 20,000-face model"))."
	echo
	echo "| data | run | training | p | fd ↓ | precision ↑ | recall ↑ | attr_gap ↓ | memorised ↓ | memorised_real | fd_train | D's sign: train / held-out | load average |"
	echo "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for n in $SUBSETS; do
		row "$n-none" "$n faces" "from scratch, \`--augment none\`" "$n"
		row "$n-$AUGMENT" "$n faces" "from scratch, \`--augment $AUGMENT\`" "$n"
	done
	[[ $finetune == 0 ]] || row "$first-from" "$first faces" "\`--from\` the 20,000-face model, \`--augment ada\`" from
	echo
	echo "- **memorised**: the share of generated faces closer (in the judge's features) to their nearest training face than"
	echo "  that face is to any other training face: copies. **memorised_real**: the same for held-out real faces, what"
	echo "  new faces score. **p**: the augmentation probability (ADA's at the end of the run, DiffAugment's is 1; - without augmentation)."
	echo "- fd, precision, recall and attr_gap as in [faces-64.md]($faces64): against the full set's test faces."
	echo "  **fd_train** (\`forger eval --nearest\`): the training faces' own fd, what a generator that copies them"
	echo "  all scores; a copier's recall is low, but its fd is not high: fd alone does not show copying."
	echo "- **D's sign** (\`forger eval --nearest\`: \`d_sign_train\`, \`d_sign_heldout\`): E[sign(D(x))] of the run's"
	echo "  discriminator on its training faces and on as many held-out real faces; far apart when D has memorised its"
	echo "  training faces, which is what augmentation is for."
	echo
	for n in $SUBSETS; do
		echo "## $n faces"
		echo
		echo "What D sees (first row: training faces; other rows: $AUGMENT$([[ $AUGMENT == ada ]] && echo " at the p it reached")), no augmentation, $AUGMENT:"
		echo
		echo "| training set | \`--augment none\` | \`--augment $AUGMENT\` |"
		echo "| --- | --- | --- |"
		echo "| ![training set](small-data-$n-training-set.png) | ![none](small-data-$n-none-samples.png) | ![$AUGMENT](small-data-$n-$AUGMENT-samples.png) |"
		echo
		echo "Each sample beside its nearest training face (\`forger eval --nearest\`), none then $AUGMENT:"
		echo
		echo "![nearest, none](small-data-$n-none-nearest.png)"
		echo "![nearest, $AUGMENT](small-data-$n-$AUGMENT-nearest.png)"
		echo
	done
	if [[ $finetune == 1 ]]; then
	echo "## Fine-tuning: $FROM_MINUTES minutes from the 20,000-face model"
	echo
	echo "| $first faces, \`--from\` | nearest training faces |"
	echo "| --- | --- |"
	echo "| ![from](small-data-$first-from-samples.png) | ![nearest](small-data-$first-from-nearest.png) |"
	echo
	echo "## The one-person journey (cartoon person $PERSON, 300 photos)"
	echo
	echo "\`forger data get cartoon-faces --person $PERSON --size 64\` renders 300 photos of one cartoon person;"
	echo "\`forger train --data <its folder> --from $FROM --minutes $FROM_MINUTES\` fine-tunes on them ($(jq -r '"\(.images / 1000 * 10 | round / 10)k images, ADA p \(.augment_p // 0 | . * 1000 | round / 1000)"' "$RUN/person-from.train.json")$(jq -r '", memorised \(.memorised * 1000 | round / 10)%"' "$RUN/person-from.eval.json")):"
	echo
	echo "| training photos | $FROM_MINUTES minutes of fine-tuning | nearest training photos |"
	echo "| --- | --- | --- |"
	echo "| ![person](small-data-person-training-set.png) | ![from](small-data-person-from-samples.png) | ![nearest](small-data-person-from-nearest.png) |"
	fi
} >"$md.tmp"
mv "$md.tmp" "$md"
log "wrote $md"
