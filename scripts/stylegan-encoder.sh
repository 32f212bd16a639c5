#!/usr/bin/env bash
# A W+ encoder for a stylegan against w_avg as the start of its projections
# (issue #19: "start from w_avg or from an encoder trained to predict w+"),
# written to $OUT (docs/results/stylegan-encoder.md) with its curves in
# ${OUT%.md}/:
#
#  1. forger encoder train --model $MODEL: $SAMPLES pairs (G(w), w in every
#     layer) and as many real faces of cartoon-faces (image loss alone),
#     pixel + the judge's features as the image loss, --width $WIDTH,
#     --iterations $ITER.
#  2. forger project --compare-init on $N held-out rendered cartoon faces
#     (seed $HELD_SEED, not a training seed) and face-api's demo photos
#     aligned by forger face align, in W+, with the loss of
#     scripts/stylegan-w.sh (pixel + the judge's features): w_avg for
#     $STEPS steps, the encoder's start for $STEPS steps and for $STEPS/5.
#
# Required: MODEL=a stylegan checkpoint or run, CLF=folder with
# male.safetensors (forger attribute train), whose features the losses use
# (JUDGE overrides). Optional: SAMPLES=30000 WIDTH=32 ITER=1 STEPS=300 N=10
# HELD_SEED=777 PHOTOS=folder (default face-api's demo photos)
# WORK=runs/stylegan-encoder OUT=docs/results/stylegan-encoder.md
# FORGER=bin/forger. Each step's output in $WORK is kept, so a rerun
# resumes; delete $WORK to measure again.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/targets.sh
. scripts/lib/targets.sh
# shellcheck source=lib/load.sh
. scripts/lib/load.sh
F=${FORGER:-bin/forger}
: "${MODEL:?MODEL=stylegan checkpoint or run is required}"
: "${CLF:?CLF=folder of attribute classifiers is required}"
JUDGE=${JUDGE:-$CLF/male.safetensors}
SAMPLES=${SAMPLES:-30000}
WIDTH=${WIDTH:-32}
ITER=${ITER:-1}
STEPS=${STEPS:-300}
N=${N:-10}
HELD_SEED=${HELD_SEED:-777}
PHOTOS=${PHOTOS:-${FORGER_HOME:-$HOME/.forger}/models/face}
WORK=${WORK:-runs/stylegan-encoder}
OUT=${OUT:-docs/results/stylegan-encoder.md}
PICS=${OUT%.md}
log() { echo "== $(date +%H:%M:%S) $*" >&2; }

[ -x "$F" ] || { echo "stylegan-encoder.sh: $F not found: run bash scripts/setup.sh first" >&2; exit 1; }
for f in "$MODEL" "$JUDGE"; do
	[ -e "$f" ] || { echo "stylegan-encoder.sh: $f not found" >&2; exit 1; }
done
size=$("$F" models list "$MODEL" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["models"][0]["size"])')
mkdir -p "$WORK" "$PICS"

targets=$(face_targets "$F" "$WORK" "$N" "$size" "$HELD_SEED" "$PHOTOS")

ENC=$WORK/encoder.safetensors
work=0
[ -e "$ENC" ] && [ -e "$WORK/compare/init-compare.json" ] || work=1
if [ $work = 1 ]; then
	load_sampler "$WORK/load.txt" # the load average beside the timings, while training and projecting
	trap stop_sampler EXIT
fi
if [ ! -e "$ENC" ]; then
	log "training the encoder: $SAMPLES pairs"
	"$F" encoder train --model "$MODEL" --out "$ENC" --samples "$SAMPLES" --width "$WIDTH" --iterations "$ITER" \
		--data cartoon-faces --features judge --features-judge "$JUDGE" --json >"$WORK/encoder.json"
fi
if [ ! -e "$WORK/compare/init-compare.json" ]; then
	log "projections from w_avg and from the encoder: $STEPS steps"
	# shellcheck disable=SC2086 # targets: one file name per word
	"$F" project --model "$MODEL" --compare-init --encoder "$ENC" -n 0 $targets --steps "$STEPS" \
		--loss both --features judge --features-judge "$JUDGE" --out "$WORK/compare" --json >/dev/null
fi
if [ $work = 1 ]; then
	stop_sampler
	load_json "$WORK/load.txt" >"$WORK/load.json"
fi

python3 - "$WORK" "$OUT" "$PICS" "$MODEL" "$SAMPLES" "$WIDTH" "$ITER" "$STEPS" "$N" <<'EOF'
import json, os, shutil, statistics, sys
work, out, pics, model, samples, width, it, steps, n = sys.argv[1:]
enc = json.load(open(f"{work}/encoder.json"))
rep = json.load(open(f"{work}/compare/init-compare.json"))
short = rep["short_steps"]
rows = rep["groups"]
held = [g for g in rows if not g["name"].startswith("sample")]
photos = [g for g in rows if g["name"].startswith("sample")]
def mean(gs, k):
    return statistics.mean(g[k] for g in gs) if gs else float("nan")
L = ["# A W+ encoder for the stylegan against w_avg (issue #19)", "",
     f"Written by `scripts/stylegan-encoder.sh` (MODEL={model}, SAMPLES={samples}, WIDTH={width}, ITER={it}, STEPS={steps}, N={n}).",
     f"The encoder: {enc['samples']} pairs (and as many real faces) in {enc['seconds']/60:.1f} minutes; held-out w+ MSE {enc['held_out_z_mse']:.4f}, pixel MSE of G(E(x)) {enc['held_out_pixel_mse']:.4f}.",
     f"Projections in W+ with the loss `{rep['loss']}` (pixel + the judge's features), Adam peak {rep['lr']} from w_avg and {rep['encoder_lr']} from the encoder:",
     f"w_avg for {steps} steps, the encoder's start for {steps} steps (the loss at steps 0, {short} and {steps}; each image's best so far) and, on its own shorter schedule, for {short}.", "",
     f"| target | w_avg @0 | encoder @0 | w_avg @{short} | encoder @{short} | w_avg @{steps} | encoder @{steps} | encoder, {short}-step run | steps to w_avg @{steps} |",
     "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
def at(gs, curve, s):
    return statistics.mean(g[curve][s] for g in gs)
def row(name, gs):
    to = [g["encoder_steps_to_mean_final"] for g in gs]
    reached = [s for s in to if s >= 0]
    steps_txt = (f"{statistics.median(reached):.0f} (median of {len(reached)} of {len(to)})" if len(gs) > 1 else (str(to[0]) if to[0] >= 0 else "never"))
    L.append(f"| {name} | {at(gs,'mean_init_curve',0):.4g} | {at(gs,'encoder_init_curve',0):.4g} | {at(gs,'mean_init_curve',short):.4g} | {at(gs,'encoder_init_curve',short):.4g} | "
             f"{mean(gs,'mean_init_final_loss'):.4g} | {mean(gs,'encoder_init_final_loss'):.4g} | {mean(gs,'encoder_short_final_loss'):.4g} | {steps_txt} |")
if held:
    row(f"{len(held)} held-out rendered faces (mean)", held)
for g in photos:
    row(f"photo {g['name']}", [g])
L += ["", f"Images whose {short}-step run from the encoder ends at or below their own w_avg @{steps}: "
      f"{sum(g['images_passed'] for g in rows)} of {sum(g['images'] for g in rows)}."]
def reach(gs):
    got = [g["encoder_steps_to_mean_final"] for g in gs if g["encoder_steps_to_mean_final"] >= 0]
    never = len(gs) - len(got)
    txt = f"{min(got)}–{max(got)}" if got else ""
    return txt + (f"{', ' if got else ''}{never} never" if never else "")
def lower(gs):
    return [1 - g["encoder_init_final_loss"] / g["mean_init_final_loss"] for g in gs]
if held and photos:
    lh, lp = statistics.mean(lower(held)), lower(photos)
    L += ["", f"From the encoder's start the {steps}-step projections end {100*lh:.0f}% lower on the held-out faces "
          f"(mean of each face's) and {100*min(lp):.0f}–{100*max(lp):.0f}% lower on the photos than from w_avg; "
          f"from the encoder a projection reaches w_avg's {steps}-step loss after "
          f"{statistics.median([g['encoder_steps_to_mean_final'] for g in held if g['encoder_steps_to_mean_final'] >= 0] or [-1]):.0f} steps "
          f"(the faces' median; the photos: {reach(photos)})."]
load = json.load(open(f"{work}/load.json")) if os.path.exists(f"{work}/load.json") else None
if load:
    L.append(f"Load average while it ran: {load['mean']:.2f} (max {load['max']:.2f}; 2 is the work itself).")
L.append("")
for g in rows[:1] + photos[:1]:
    p = "init-curves-" + os.path.splitext(g["name"])[0] + ".png"
    if os.path.exists(f"{work}/compare/{p}"):
        shutil.copy(f"{work}/compare/{p}", f"{pics}/{p}")
        L.append(f"![{g['name']}]({os.path.basename(pics)}/{p})")
open(out, "w").write("\n".join(L) + "\n")
print(out)
EOF
