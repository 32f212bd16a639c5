#!/usr/bin/env bash
# Issue #19's Done-when (b) and (c) for a DCGAN and a stylegan of the same
# faces, written to $OUT (docs/results/stylegan-w.md) with the pictures in
# ${OUT%.md}/:
#
#  (b) projection: $N held-out rendered cartoon faces (seed $HELD_SEED, not
#      a training seed) and face-api's demo photos aligned by forger face
#      align, projected by the DCGAN in z and by the stylegan in W+ with the
#      same --steps, the same loss (pixel + the judge's features: one
#      network for both models, so the losses compare) and the same Adam
#      settings; the final losses side by side, and each pair of
#      compare.png (photo | reconstruction).
#  (c) edits: for each model (the DCGAN in z, the stylegan in W) the
#      directions male, glasses, hat, dark_skin, then mustache and smiling
#      orthogonal to all four, learned from $SAMPLES labelled seeds, and
#      direction check of mustache (on men) and smiling on $NCHECK faces at
#      each strength of $STRENGTHS, keeping male, glasses, hat and
#      dark_skin. The bars of (c): success ≥ 90%, every kept ≥ 95%, each
#      edit at its own strength (the report names the lowest that passes).
#
# Required: DCGAN=checkpoint STYLEGAN=checkpoint (of one size) and
# CLF=folder of attribute classifiers (forger attribute train) named
# male, glasses, hat, dark_skin, mustache, smiling .safetensors, at that
# size. JUDGE=the judge (or attribute classifier) of the perceptual loss;
# default $CLF/male.safetensors. Optional: N=10 STEPS=300 SAMPLES=20000
# NCHECK=200 STRENGTHS="3 4 5 6 8" W_LAYERS="all" (the layer sets of the W
# edits, each "all" or forger's --layers, e.g. "all 2-5") HELD_SEED=777 PHOTOS=folder of photos (default
# face-api's demo photos, $FORGER_HOME/models/face/sample*.jpg)
# WORK=runs/stylegan-w OUT=docs/results/stylegan-w.md FORGER=bin/forger.
# Each step's output in $WORK is kept, so a rerun resumes; delete $WORK to
# measure again.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/targets.sh
. scripts/lib/targets.sh
F=${FORGER:-bin/forger}
: "${DCGAN:?DCGAN=checkpoint of the DCGAN is required}"
: "${STYLEGAN:?STYLEGAN=checkpoint of the stylegan is required}"
: "${CLF:?CLF=folder of attribute classifiers is required}"
JUDGE=${JUDGE:-$CLF/male.safetensors}
N=${N:-10}
STEPS=${STEPS:-300}
SAMPLES=${SAMPLES:-20000}
NCHECK=${NCHECK:-200}
STRENGTHS=${STRENGTHS:-${STRENGTH:-3 4 5 6 8}} # STRENGTH, the one strength of before, still works
W_LAYERS=${W_LAYERS:-all}
HELD_SEED=${HELD_SEED:-777}
PHOTOS=${PHOTOS:-${FORGER_HOME:-$HOME/.forger}/models/face}
WORK=${WORK:-runs/stylegan-w}
OUT=${OUT:-docs/results/stylegan-w.md}
PICS=${OUT%.md}
log() { echo "== $(date +%H:%M:%S) $*" >&2; }

[ -x "$F" ] || { echo "stylegan-w.sh: $F not found: run bash scripts/setup.sh first" >&2; exit 1; }
for f in "$DCGAN" "$STYLEGAN" "$JUDGE"; do
	[ -e "$f" ] || { echo "stylegan-w.sh: $f not found" >&2; exit 1; }
done
for a in male glasses hat dark_skin mustache smiling; do
	[ -e "$CLF/$a.safetensors" ] || { echo "stylegan-w.sh: $CLF/$a.safetensors not found (forger attribute train --attribute $a)" >&2; exit 1; }
done
size=$("$F" models list "$(dirname "$STYLEGAN")" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["models"][0]["size"])')
mkdir -p "$WORK" "$PICS"

# (b) the targets: held-out rendered faces and aligned photos.
targets=$(face_targets "$F" "$WORK" "$N" "$size" "$HELD_SEED" "$PHOTOS")

project() { # model space target → the report's JSON file
	local model=$1 space=$2 target=$3
	local name
	name=$(basename "$(dirname "$target")")-$(basename "${target%.*}")
	local dir=$WORK/project/$space/$name
	if [ ! -e "$dir/report.json" ]; then
		mkdir -p "$dir"
		"$F" project --model "$model" "$target" --out "$dir" --space "$space" --steps "$STEPS" \
			--loss both --features judge --features-judge "$JUDGE" --json >"$dir/report.json.tmp"
		mv "$dir/report.json.tmp" "$dir/report.json"
	fi
	echo "$dir/report.json"
}
for t in $targets; do
	log "projecting $t"
	project "$DCGAN" z "$t" >/dev/null
	project "$STYLEGAN" w+ "$t" >/dev/null
done

# (c) directions and checks.
learn() { # model space name [extra flags…]
	local model=$1 space=$2 a=$3
	shift 3
	local f=$WORK/directions/$space/$a.json
	if [ ! -e "$f" ]; then
		log "direction in $space: $a"
		mkdir -p "$(dirname "$f")"
		"$F" direction learn --model "$model" --space "$space" --attribute "$a" --judge "$CLF/$a.safetensors" \
			--samples "$SAMPLES" "$@" --out "$f" >/dev/null
	fi
}
check() { # model space name where tag strength [layers]
	local model=$1 space=$2 a=$3 where=$4 tag=$5 strength=$6 layers=${7:-all}
	local lt=""
	[ "$layers" = all ] || lt=-l$layers
	local res=$WORK/check/$space/$a$tag$lt-s$strength.json
	if [ ! -e "$res" ]; then
		log "check in $space: $a ${where:+(where $where)} at strength $strength, layers $layers"
		mkdir -p "$(dirname "$res")"
		"$F" direction check --model "$model" --direction "$WORK/directions/$space/$a.json" --classifier-dir "$CLF" \
			--preserve male,glasses,hat,dark_skin -n "$NCHECK" --strength "$strength" ${where:+--where "$where"} \
			--layers "$layers" --out "$PICS/check-$space-$a$tag$lt-s$strength.png" --json >"$res.tmp" 2>"$res.err" ||
			# A check that cannot run (a model that draws no face to edit, say)
			# is a row of the table with forger's reason, not the end of the script.
			jq -n --arg e "$(tr '\r' '\n' <"$res.err" | grep -v '^[[:space:]]*$' | tail -n 1)" '{error: $e}' >"$res.tmp"
		mv "$res.tmp" "$res"
		rm -f "$res.err"
	fi
}
for pair in "$DCGAN z" "$STYLEGAN w"; do
	set -- $pair
	model=$1 space=$2
	d=$WORK/directions/$space
	for a in male glasses hat dark_skin; do learn "$model" "$space" "$a"; done
	for a in mustache smiling; do learn "$model" "$space" "$a" --orthogonal-to "$d/male.json,$d/glasses.json,$d/hat.json,$d/dark_skin.json"; done
	layer_sets=all
	[ "$space" = w ] && layer_sets=$W_LAYERS
	for l in $layer_sets; do
		for s in $STRENGTHS; do
			check "$model" "$space" mustache male=1 -men "$s" "$l"
			check "$model" "$space" smiling "" "" "$s" "$l"
		done
	done
done

log "writing $OUT"
WORK=$WORK OUT=$OUT PICS=$PICS W_LAYERS=$W_LAYERS DCGAN=$DCGAN STYLEGAN=$STYLEGAN JUDGE=$JUDGE STEPS=$STEPS N=$N \
	SAMPLES=$SAMPLES NCHECK=$NCHECK STRENGTHS="$STRENGTHS" SIZE=$size python3 - <<'EOF'
import glob, json, os, shutil
e = os.environ
work, out, pics = e["WORK"], e["OUT"], e["PICS"]
rows, wins = [], 0
for rep in sorted(glob.glob(f"{work}/project/z/*/report.json")):
    name = os.path.basename(os.path.dirname(rep))
    other = f"{work}/project/w+/{name}/report.json"
    if not os.path.exists(other):
        continue
    z, w = json.load(open(rep)), json.load(open(other))
    for space, r in (("z", z), ("wplus", w)):
        shutil.copy(r["compare"], f"{pics}/{name}-{space}.png")
    wins += w["final_loss"] < z["final_loss"]
    rows.append(f"| {name} | {z['final_loss']:.4g} | {w['final_loss']:.4g} | {z['pixel_mse']:.4g} | {w['pixel_mse']:.4g} | "
                f"![]({os.path.basename(pics)}/{name}-z.png) | ![]({os.path.basename(pics)}/{name}-wplus.png) |")
rel = os.path.basename(pics)
L = [f"# StyleGAN's W: projection and edits against the DCGAN's z (issue #19 (b), (c))", "",
     f"Measured by `scripts/stylegan-w.sh` (DCGAN={e['DCGAN']}, STYLEGAN={e['STYLEGAN']}, "
     f"{e['SIZE']}×{e['SIZE']}; judge features {e['JUDGE']}).", "",
     f"## (b) Projection: {e['STEPS']} Adam steps, pixel + judge features, DCGAN in z vs stylegan in W+", "",
     f"W+ ends lower on {wins} of {len(rows)} targets.", "",
     "| target | final loss z | final loss W+ | pixel MSE z | pixel MSE W+ | z (photo \\| reconstruction) | W+ |",
     "| --- | --- | --- | --- | --- | --- | --- |"] + rows
strengths = e["STRENGTHS"].split()  # as the shell named the files
L += ["", f"## (c) Edits: strengths {', '.join(strengths)}, {e['NCHECK']} faces, directions from {e['SAMPLES']} labelled seeds", "",
      "Mustache and smiling directions are orthogonal to the male, glasses, hat and dark_skin directions. "
      "Bars: success ≥ 90%, each other attribute kept for ≥ 95%, each edit at its own strength.", ""]
summary = []
table = ["| model | edit | layers | strength | success | male kept | glasses kept | hat kept | dark_skin kept | passes (c) |",
         "| --- | --- | --- | ---: | --- | --- | --- | --- | --- | --- |"]
for space, model in (("z", "DCGAN (z)"), ("w", "stylegan (W)")):
    for edit, tag in (("mustache on men", "mustache-men"), ("smiling", "smiling")):
        for layers in (e["W_LAYERS"].split() if space == "w" else ["all"]):
            lt = "" if layers == "all" else f"-l{layers}"
            passing = None
            for st in strengths:
                p = f"{work}/check/{space}/{tag}{lt}-s{st}.json"
                if not os.path.exists(p):
                    continue
                r = json.load(open(p))
                if "error" in r:
                    table.append(f"| {model} | {edit} | {layers} | {st} | could not run: {r['error']} | | | | | no |")
                    continue
                kept = r["preserved"]
                ok = r["success_rate"] >= 0.9 and all(v >= 0.95 for v in kept.values())
                if ok and passing is None:
                    passing = st
                table.append(f"| {model} | {edit} | {layers} | {st} | {100*r['success_rate']:.1f}% | " +
                             " | ".join(f"{100*kept.get(k, float('nan')):.1f}%" for k in ("male", "glasses", "hat", "dark_skin")) +
                             f" | {'yes' if ok else 'no'} |")
            summary.append(f"- {model}, {edit}, layers {layers}: " + (f"passes at strength {passing}" if passing is not None else "passes at none of them"))
L += summary + [""] + table
L += ["", "Before/after grids (first 16 faces): " + ", ".join(f"[{os.path.basename(p)}]({rel}/{os.path.basename(p)})"
      for p in sorted(glob.glob(f"{pics}/check-*.png"))), ""]
open(out, "w").write("\n".join(L))
EOF
echo "$OUT"
