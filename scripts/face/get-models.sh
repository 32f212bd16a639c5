#!/usr/bin/env bash
# get-models.sh — install face-api.js's face models for forger.
#
# Usage: scripts/face/get-models.sh [DEST]
#
# DEST defaults to ${FORGER_HOME:-$HOME/.forger}/models/face (what
# `forger models path` prints). The files come from the npm package
# @vladmandic/face-api@1.7.15 (MIT licence), fetched with `npm pack`
# from the npm registry npm is configured for:
#
#   model/face_landmark_68_model-weights_manifest.json + .bin    68-point landmarks
#   model/face_recognition_model-weights_manifest.json + .bin    128-D descriptor (dlib ResNet)
#   model/tiny_face_detector_model-weights_manifest.json + .bin  face detector (for later)
#   demo/sample1.jpg … demo/sample6.jpg                          demo photos
#   LICENSE                                                      face-api's MIT licence
#
# All land flat in DEST. Checks, in order: the packed tarball's sha512
# against the registry's `dist.integrity`, then every file's SHA-256
# against scripts/face/SHA256SUMS (committed beside this script). Files
# are staged in DEST.tmp and moved into DEST only once all of them check
# out. Running it again when DEST already holds every file with the right
# sum does nothing.
#
# Needs: bash, npm and node (Debian: apt-get install nodejs npm), tar,
# sha256sum (coreutils).
set -euo pipefail

PKG=@vladmandic/face-api
VERSION=1.7.15

die() { echo "get-models.sh: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed: $2"; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SUMS="$here/SHA256SUMS"
[[ -r $SUMS ]] || die "checksum list $SUMS is missing (it ships beside this script)"

if [[ $# -gt 1 || ${1:-} == -h || ${1:-} == --help ]]; then
	echo "usage: $0 [DEST]   (default \${FORGER_HOME:-\$HOME/.forger}/models/face)" >&2
	exit 2
fi
if [[ $# -eq 1 ]]; then
	DEST=$1
else
	[[ -n ${FORGER_HOME:-} || -n ${HOME:-} ]] || die "neither FORGER_HOME nor HOME is set: pass DEST"
	DEST=${FORGER_HOME:-$HOME/.forger}/models/face
fi
[[ -n $DEST ]] || die "DEST is empty"
DEST=${DEST%/}

need sha256sum "install coreutils (apt-get install coreutils)"

# names in the checksum list, in order
mapfile -t FILES < <(awk 'NF == 2 { print $2 }' "$SUMS")
[[ ${#FILES[@]} -gt 0 ]] || die "no file names in $SUMS"

# verify_dir DIR: every listed file is in DIR with its listed SHA-256.
verify_dir() {
	(cd "$1" && sha256sum --quiet --strict -c "$SUMS") >/dev/null 2>&1
}

if [[ -d $DEST ]] && verify_dir "$DEST"; then
	echo "face models are up to date in $DEST"
	exit 0
fi

need node "install Node.js and npm: apt-get install nodejs npm"
need npm "install Node.js and npm: apt-get install nodejs npm"
need tar "install tar: apt-get install tar"

work=$(mktemp -d "${TMPDIR:-/tmp}/forger-face.XXXXXX")
stage="$DEST.tmp"
cleanup() { rm -rf "$work" "$stage"; }
trap cleanup EXIT

echo "fetching $PKG@$VERSION with npm pack …" >&2
want=$(cd "$work" && npm view "$PKG@$VERSION" dist.integrity 2>"$work/view.err") ||
	die "npm view $PKG@$VERSION failed (is the npm registry reachable?): $(tail -n 3 "$work/view.err" | tr '\n' ' ')"
want=$(printf '%s' "$want" | tr -d '[:space:]')
[[ $want == sha512-* ]] || die "npm view $PKG@$VERSION dist.integrity gave '$want', not a sha512 integrity"

(cd "$work" && npm pack "$PKG@$VERSION" --json >pack.json 2>pack.err) ||
	die "npm pack $PKG@$VERSION failed: $(tail -n 3 "$work/pack.err" | tr '\n' ' ')"
tgz=$(node -e '
	const p = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
	const e = Array.isArray(p) ? p[0] : p;
	process.stdout.write(e.filename.replace(/^@/, "").replace(/\//g, "-"));
' "$work/pack.json") || die "could not read npm pack's output ($work/pack.json)"
[[ -f $work/$tgz ]] || die "npm pack did not leave $tgz"

# The tarball's own integrity, computed here rather than trusting npm's.
got=$(node -e '
	const c = require("crypto"), fs = require("fs");
	process.stdout.write("sha512-" + c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"));
' "$work/$tgz")
[[ $got == "$want" ]] || die "$tgz: sha512 integrity $got does not match the registry's $want"
echo "tarball integrity ok ($want)" >&2

members=()
for f in "${FILES[@]}"; do
	case $f in
	*.jpg) members+=("package/demo/$f") ;;
	LICENSE) members+=("package/LICENSE") ;;
	*) members+=("package/model/$f") ;;
	esac
done
mkdir -p "$work/x"
tar -xzf "$work/$tgz" -C "$work/x" "${members[@]}" 2>"$work/tar.err" ||
	die "extracting from $tgz failed: $(tail -n 3 "$work/tar.err" | tr '\n' ' ')"

mkdir -p "$(dirname "$DEST")" || die "cannot create $(dirname "$DEST")"
rm -rf "$stage"
mkdir -p "$stage"
for m in "${members[@]}"; do
	cp "$work/x/$m" "$stage/"
done
if ! (cd "$stage" && sha256sum --quiet --strict -c "$SUMS") >"$work/sum.err" 2>&1; then
	die "checksum mismatch against $SUMS: $(grep -v '^sha256sum: WARNING' "$work/sum.err" | tr '\n' ' ')"
fi

# Move in: the whole folder when DEST is new, else file by file (each
# rename is atomic; other files already in DEST are left alone).
if [[ ! -e $DEST ]]; then
	mv "$stage" "$DEST"
else
	[[ -d $DEST ]] || die "$DEST exists and is not a directory"
	for f in "${FILES[@]}"; do
		mv -f "$stage/$f" "$DEST/$f"
	done
fi
verify_dir "$DEST" || die "files in $DEST do not match $SUMS after the move"
echo "face models installed in $DEST (${#FILES[@]} files, sums checked)"
