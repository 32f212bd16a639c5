#!/usr/bin/env bash
# Installs what forger needs on a Debian machine and builds bin/forger.
#   - libopenblas0: the fast GEMM back-end (loaded at run time; optional)
#   - dataset-fashion-mnist: the Fashion-MNIST data set
#   - nodejs, npm, chromium, python3-skimage, ffmpeg: what the tests use
#   - Go modules, through the Go module proxy
# Run as root (or with sudo available); otherwise it prints the apt command.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -e /usr/lib/x86_64-linux-gnu/libopenblas.so.0 ] || [ -e /usr/lib/aarch64-linux-gnu/libopenblas.so.0 ] || need+=(libopenblas0)
[ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need+=(dataset-fashion-mnist)
# Node.js renders the cartoon-faces data set and fetches the face models (npm);
# Chromium runs the studio's browser test.
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v chromium >/dev/null || need+=(chromium)
# ffmpeg: picture's MP4 test.
command -v ffmpeg >/dev/null || need+=(ffmpeg)
# astronaut.png, a photo with one face, for the face tests.
[ -e /usr/lib/python3/dist-packages/skimage/data/astronaut.png ] || need+=(python3-skimage)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then apt=(apt-get); elif command -v sudo >/dev/null; then apt=(sudo apt-get); else apt=(); fi
  if [ ${#apt[@]} -eq 0 ]; then
    echo "setup: missing Debian packages: ${need[*]}; run as root: apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${need[*]}"
  "${apt[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v go >/dev/null; then
  echo "setup: Go is not installed (forger needs Go 1.26: https://go.dev/doc/install, or apt-get install golang-go if it is recent enough)" >&2
  exit 1
fi
go mod download
mkdir -p bin
go build -o bin/forger ./cmd/forger
echo "setup: built bin/forger ($(bin/forger version | tail -n +2 | tr '\n' ' '))"
