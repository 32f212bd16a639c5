#!/usr/bin/env bash
# Runs every fuzz target of forger's readers of untrusted bytes, one after
# the other, MINUTES minutes each (default 1), with PARALLEL workers
# (default 1: the machine is shared). A crasher is written by go test to
# <package>/testdata/fuzz/<Target>/ and, once committed, runs as a
# regression test with every plain `go test`.
#
#   MINUTES=10 bash scripts/fuzz.sh            # every target, 10 minutes each
#   ONLY=FuzzDecodePhoto bash scripts/fuzz.sh  # one target
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${MINUTES:-1}
PARALLEL=${PARALLEL:-1}
ONLY=${ONLY:-}

targets=(
	"./studio FuzzDecodePhoto"        # uploads: sniffing, header limits, decode, EXIF, shrink
	"./face FuzzOrientation"          # EXIF orientation in JPEG, PNG and WebP
	"./face FuzzDecodeImage"          # the CLI's image decoding (size limit, orientation)
	"./face FuzzParseTFJS"            # TF.js weights manifests and shards
	"./tensor FuzzReadSafetensors"    # safetensors checkpoints
	"./dataset FuzzReadIDX"           # IDX (MNIST) files, raw or gzip
)

failed=0
for t in "${targets[@]}"; do
	set -- $t
	pkg=$1 name=$2
	if [[ -n $ONLY && $ONLY != "$name" ]]; then
		continue
	fi
	echo "== $name ($pkg), ${MINUTES} min"
	if ! go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "${MINUTES}m" -parallel "$PARALLEL"; then
		echo "!! $name failed: see the crasher under ${pkg#./}/testdata/fuzz/$name/"
		failed=1
	fi
done
exit $failed
