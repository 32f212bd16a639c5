#!/usr/bin/python3
"""make-fixtures.py — cut the face crops in face/testdata/ (dev tool).

Usage: /usr/bin/python3 scripts/face/make-fixtures.py [MODEL_DIR] [OUT_DIR]

  MODEL_DIR  the folder get-models.sh filled, with sample1.jpg … sample6.jpg
             (default ${FORGER_HOME:-$HOME/.forger}/models/face)
  OUT_DIR    where the PNGs go (default face/testdata beside this repo's scripts/)

Needs Debian's python3-pil, and python3-skimage for astronaut.png
(apt-get install python3-pil python3-skimage). The boxes below were chosen
by hand around the faces that face-api.js's own SSD detector + 68-point
landmarks found ("aligned" boxes from detectAllFaces().withFaceLandmarks()),
squared around their centres. Each box is (left, top, width, height) in the
source image's pixels; the crop is resized to the output size with PIL's
LANCZOS filter and saved as 8-bit RGB PNG without metadata.

The PNGs are committed: re-running this only matters when changing the set
(PIL versions may resample slightly differently, which would invalidate
face/testdata/reference.json until scripts/face/reference.mjs is re-run).
"""
import hashlib
import os
import sys

from PIL import Image

ASTRONAUT = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png"
ASTRONAUT_SHA256 = "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"

# name, source, (left, top, width, height), (out width, out height), note
CROPS = [
    ("face_a_s3.png", "sample3.jpg", (563, 369, 250, 250), (150, 150), "person A: sample3, left, curly blonde hair"),
    ("face_b_s6.png", "sample6.jpg", (639, 384, 256, 256), (150, 150), "person B: sample6, second from left"),
    ("face_b_s6_shift.png", "sample6.jpg", (627, 337, 320, 320), (150, 150), "person B again: box 1.25x larger, centre moved +20,-15 px"),
    ("face_c_s5.png", "sample5.jpg", (766, 137, 198, 198), (150, 150), "person C: sample5, top centre"),
    ("face_d_s1.png", "sample1.jpg", (395, 401, 217, 217), (150, 150), "person D: sample1, left, face paint"),
    ("face_e_s4.png", "sample4.jpg", (636, 92, 228, 228), (150, 150), "person E: sample4, second from left"),
    ("face_f_s3_wide.png", "sample3.jpg", (1436, 338, 312, 260), (180, 150), "person F: sample3, right; wide 180x150 (pads top/bottom by 15)"),
    ("face_g_s2_tall.png", "sample2.jpg", (1425, 163, 238, 271), (150, 171), "person G: sample2, right; tall 150x171 (odd pad 21: 10 left, 11 right)"),
    ("face_h_astronaut.png", "astronaut", (166, 75, 111, 111), (150, 150), "Eileen Collins, skimage astronaut.png (upscaled 111->150)"),
]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    home = os.environ.get("FORGER_HOME") or os.path.join(os.path.expanduser("~"), ".forger")
    models = sys.argv[1] if len(sys.argv) > 1 else os.path.join(home, "models", "face")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..", "..", "face", "testdata")
    sums = {}
    with open(os.path.join(here, "SHA256SUMS")) as f:
        for line in f:
            h, name = line.split()
            sums[name] = h
    os.makedirs(out, exist_ok=True)
    for name, src, (l, t, w, h), size, note in CROPS:
        path = ASTRONAUT if src == "astronaut" else os.path.join(models, src)
        want = ASTRONAUT_SHA256 if src == "astronaut" else sums[src]
        if not os.path.exists(path):
            sys.exit(f"make-fixtures: {path} is missing (run scripts/face/get-models.sh; apt-get install python3-skimage)")
        if sha256(path) != want:
            sys.exit(f"make-fixtures: {path} does not have the expected SHA-256 {want}")
        im = Image.open(path).convert("RGB")
        crop = im.crop((l, t, l + w, t + h)).resize(size, Image.LANCZOS)
        crop = Image.frombytes("RGB", crop.size, crop.tobytes())  # drop ICC and other metadata
        dst = os.path.join(out, name)
        crop.save(dst, format="PNG", optimize=True)
        print(f"{dst}: {src} box {l},{t},{w},{h} -> {size[0]}x{size[1]}  ({note})")


if __name__ == "__main__":
    main()
