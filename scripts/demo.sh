#!/usr/bin/env bash
# The main job: set up, train a class-conditional GAN on Fashion-MNIST for a
# few minutes, and generate a grid of sneakers and one row per class.
#   MINUTES=5 (default) sets the training time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
run=runs/fashion-cdcgan
minutes=${MINUTES:-5}
if [ -e "$run/checkpoints/latest.safetensors" ]; then
  bin/forger train --out "$run" --resume --epochs 1000 --minutes "$minutes"
else
  bin/forger train --data fashion-mnist --model cdcgan --out "$run" --epochs 1000 --minutes "$minutes"
fi
bin/forger generate --model "$run" --class Sneaker -n 10 --grid --out "$run/generated"
echo
echo "Samples per epoch:   $run/samples/"
echo "Training animation:  $run/progress.gif"
echo "Loss curves:         $run/losses.png"
echo "Ten sneakers:        $run/generated/grid.png"
