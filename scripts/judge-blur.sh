#!/usr/bin/env bash
# How the face judge reads soft faces: the last 2,000 of the 20,000 cartoon
# faces at 64×64, as rendered, blurred by a Gaussian of σ 0.5 and 1 pixel
# and halved in resolution (32×32 and back), each scored by forger eval
# --images against the real test faces with JUDGE, and with ATTR_JUDGE
# reading the attributes (forger judge train --blur; skipped when it does
# not exist). A judge whose attributes hold under a blur reads about the
# real faces' rates on every row; sharpness (forger eval's) places a
# generator's softness among the rows. Prints the table of docs/results/faces-64.md
# and draws OUT/smiling.png: eight smiling faces (columns) as each row saw them.
#
#   scripts/judge-blur.sh
#
# Environment: OUT (default runs/judge-blur), JUDGE (default
# runs/judge-faces-64.safetensors), ATTR_JUDGE (default
# runs/judge-faces-64-blur.safetensors), FORGER (default bin/forger).
# Needs Python 3 with PIL (Debian's python3-pil, which python3-skimage
# installs) to blur the images, and jq.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${OUT:-runs/judge-blur}
JUDGE=${JUDGE:-runs/judge-faces-64.safetensors}
ATTR_JUDGE=${ATTR_JUDGE:-runs/judge-faces-64-blur.safetensors}
F=${FORGER:-bin/forger}
N=2000
die() { echo "judge-blur.sh: $*" >&2; exit 1; }
[[ -x $F ]] || die "$F not found: run go build -o bin/forger ./cmd/forger"
command -v jq >/dev/null || die "jq is needed (apt-get install jq)"
/usr/bin/python3 -c 'import PIL' 2>/dev/null || die "Python's PIL is needed (apt-get install python3-pil)"
[[ -f $JUDGE ]] || die "no face judge at $JUDGE: forger judge train --data cartoon-faces --size 64 --out $JUDGE"
faces=$("$F" data get cartoon-faces --n 20000 --size 64 | tail -n 1)
faces=${faces##* is in }
[[ -d $faces/images ]] || die "the faces were not found ($faces)"
mkdir -p "$OUT"
/usr/bin/python3 - "$faces/images" "$OUT" "$N" <<'PY'
import os, sys
from PIL import Image, ImageFilter
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = sorted(f for f in os.listdir(src) if f.endswith('.png'))[-n:]
ways = {
    'as-rendered': lambda im: im,
    'blur-0.5': lambda im: im.filter(ImageFilter.GaussianBlur(0.5)),
    'blur-1': lambda im: im.filter(ImageFilter.GaussianBlur(1.0)),
    'half-size': lambda im: im.resize((im.width // 2, im.height // 2), Image.BILINEAR).resize(im.size, Image.BILINEAR),
}
for way, f in ways.items():
    os.makedirs(os.path.join(out, way), exist_ok=True)
    for name in names:
        f(Image.open(os.path.join(src, name)).convert('RGB')).save(os.path.join(out, way, name))
# The sheet: the first eight smiling faces of the set, one row per way.
import csv
smiling = set(os.path.basename(r['file']) for r in csv.DictReader(open(os.path.join(src, '..', 'attributes.csv'))) if r['smiling'] == '1')
pick = [n for n in names if n in smiling][:8]
sheet = Image.new('RGB', (8 * 128, len(ways) * 128), 'white')
for row, way in enumerate(ways):
    for col, name in enumerate(pick):
        sheet.paste(Image.open(os.path.join(out, way, name)).resize((128, 128), Image.NEAREST), (col * 128, row * 128))
sheet.save(os.path.join(out, 'smiling.png'))
PY
judges=("$JUDGE")
[[ -f $ATTR_JUDGE ]] && judges+=("$ATTR_JUDGE")
echo "| real faces | attributes read by | fd | sharpness | smiling | mustache | beard | glasses | attr_gap |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for way in as-rendered blur-0.5 blur-1 half-size; do
	for aj in "${judges[@]}"; do
		"$F" eval --images "$OUT/$way" --judge "$JUDGE" --attr-judge "$aj" --data cartoon-faces -n "$N" --json 2>/dev/null >"$OUT/$way.$(basename "$aj" .safetensors).json"
		jq -r --arg way "$way" --arg aj "$(basename "$aj")" '
			def pct(k): "\((.attr_gen[k] * 1000 | round) / 10)% (\((.attr_real[k] * 1000 | round) / 10)%)";
			"| \($way) | \($aj) | \(.fd * 10 | round / 10) | \(.sharpness * 100 | round / 100) | \(pct("smiling")) | \(pct("mustache")) | \(pct("beard")) | \(pct("glasses")) | \(.attr_gap * 1000 | round / 1000) |"' \
			"$OUT/$way.$(basename "$aj" .safetensors).json"
	done
done
