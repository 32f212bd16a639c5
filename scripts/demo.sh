#!/usr/bin/env bash
# The main job: set up, train a class-conditional GAN on Fashion-MNIST for a
# few minutes and generate a grid of sneakers; then train a small face GAN
# with a smile direction and an encoder, index a gallery of face-api's demo
# photos, and end by starting the studio (forger serve) on it all.
#   MINUTES=5 (default)       Fashion-MNIST training time (run again: 5 more)
#   FACE_MINUTES=4 (default)  face GAN training time (first run only)
#   PORT=8080 (default)       the studio's port, on 127.0.0.1
#   RUNS=runs (default)       where the runs, the gallery and the studio's data go
# Every face step is skipped when its output already exists, so running the
# demo again resumes where it stopped; delete a file to redo its step.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
F=bin/forger
runs=${RUNS:-runs}
port=${PORT:-8080}
log() { echo "== demo $(date +%H:%M:%S): $*" >&2; }

# 1. Fashion-MNIST: a class-conditional DCGAN, and ten sneakers.
run=$runs/fashion-cdcgan
minutes=${MINUTES:-5}
if [ -e "$run/checkpoints/latest.safetensors" ]; then
  $F train --out "$run" --resume --epochs 1000 --minutes "$minutes"
else
  $F train --data fashion-mnist --model cdcgan --out "$run" --epochs 1000 --minutes "$minutes"
fi
$F generate --model "$run" --class Sneaker -n 10 --grid --out "$run/generated"
echo
echo "Samples per epoch:   $run/samples/"
echo "Training animation:  $run/progress.gif"
echo "Loss curves:         $run/losses.png"
echo "Ten sneakers:        $run/generated/grid.png"
echo

# 2. Faces: face-api's models (and its demo photos), for finding faces.
log "face models (face-api, from npm; checked against scripts/face/SHA256SUMS)"
bash scripts/face/get-models.sh
facemodels=$($F models path)

# 3. A face GAN for the look-alike morph: cartoon faces at 64 px (the set
#    make quality-faces and the face judge use; in 4 minutes 64 px beats
#    32 px, docs/results/faces-64.md), a DCGAN,
#    the smile direction (an attribute classifier labels generated faces,
#    a logistic regression finds the direction) and an encoder, all in the
#    run folder where forger serve looks for them (studio/README.md).
faces=$runs/faces-64
face_minutes=${FACE_MINUTES:-4}
face_set=(--n 20000 --size 64) # the cartoon-faces set of make quality-faces: another --n would render over it
if [ ! -e "$faces/checkpoints/latest.safetensors" ]; then
  log "cartoon faces: 20000 at 64x64 (Node.js renders them)"
  data=$($F data get cartoon-faces "${face_set[@]}" | tail -1)
  log "training a face DCGAN for $face_minutes minutes"
  $F train --data "$data" --size 64 --out "$faces" --epochs 1000 --minutes "$face_minutes"
fi
if [ ! -e "$faces/attr/smiling.safetensors" ]; then
  data=$($F data get cartoon-faces "${face_set[@]}" | tail -1)
  log "smiling classifier (it labels the generated faces)"
  mkdir -p "$faces/attr"
  # --lr 5e-4 (the default since issue 23): at 32 px the old 2e-3 never left "nobody smiles".
  # A classifier at chance is refused (no file); the demo then goes on without a smile.
  $F attribute train --data "$data" --attribute smiling --size 64 --epochs 4 --lr 5e-4 --out "$faces/attr/smiling.safetensors" ||
    log "no smiling classifier (see above); the studio will show no smile. Run the demo again to retry."
fi
if [ ! -e "$faces/directions/smiling.json" ] && [ -e "$faces/attr/smiling.safetensors" ]; then
  log "learning the smile direction"
  mkdir -p "$faces/directions"
  $F direction learn --model "$faces" --attribute smiling --judge "$faces/attr/smiling.safetensors" \
    --samples 2000 --out "$faces/directions/smiling.json" ||
    log "no smile direction (see above); the studio will say so and show no smile. Run the demo again to retry."
fi
if [ ! -e "$faces/encoder.safetensors" ]; then
  log "training an encoder (a starting point for projecting photos)"
  $F encoder train --model "$faces" --samples 20000 --out "$faces/encoder.safetensors"
fi

# 4. The look-alike gallery: the largest face of face-api's demo photos
#    sample1-5.jpg, under made-up names (one person per photo).
gallery=$runs/gallery
if [ ! -e "$gallery/gallery.db" ]; then
  log "indexing the gallery"
  mkdir -p "$gallery/people"
  names=(Alice Bea Cleo Dana Eve)
  for i in 1 2 3 4 5; do
    cp "$facemodels/sample$i.jpg" "$gallery/people/${names[$((i - 1))]}.jpg"
  done
  $F face index "$gallery/people" --db "$gallery/gallery.db"
fi

# 5. The studio, on everything above, until Ctrl-C.
echo
echo "Studio:     http://127.0.0.1:$port/   (Ctrl-C stops it)"
if [ -e "$faces/directions/smiling.json" ]; then
  echo "Explore:    http://127.0.0.1:$port/explore   (pick faces-64: it has a 'smiling' slider)"
fi
echo "Look-alike: http://127.0.0.1:$port/lookalike   (try $facemodels/sample6.jpg), or:"
echo "  curl -s -F photo=@$facemodels/sample6.jpg http://127.0.0.1:$port/api/jobs"
echo
exec $F serve --models "$runs" --face-model "$faces" --gallery "$gallery/gallery.db" \
  --data "$runs/studio" --addr "127.0.0.1:$port"
