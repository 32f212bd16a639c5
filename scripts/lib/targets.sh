# Sourced by the measuring scripts: the targets of their projections.
#
# face_targets F WORK N SIZE HELD_SEED PHOTOS: with the forger binary F,
# renders N held-out cartoon faces (seed HELD_SEED, not a training seed) at
# SIZE into WORK/held and aligns the photos of the folder PHOTOS (face-api's
# demo photos) into WORK/photos, each once (kept for a rerun), and prints
# the target files, one per line: the faces, then the photos. Call it as
# targets=$(face_targets …): inherit_errexit makes a failure inside stop
# the script.
shopt -s inherit_errexit
face_targets() {
	local f=$1 work=$2 n=$3 size=$4 seed=$5 photos=$6
	if [ ! -e "$work/held/done" ]; then
		echo "== $(date +%H:%M:%S) held-out faces: $n at ${size}px, seed $seed" >&2
		"$f" data get cartoon-faces --n "$n" --size "$size" --seed "$seed" --dir "$work/held" >/dev/null
		touch "$work/held/done"
	fi
	if [ ! -e "$work/photos/report.csv" ]; then
		echo "== $(date +%H:%M:%S) aligning the photos of $photos" >&2
		mkdir -p "$work/photos-in"
		find "$photos" -maxdepth 1 \( -name '*.jpg' -o -name '*.jpeg' -o -name '*.png' \) -exec cp {} "$work/photos-in/" \;
		# face align makes 64 px at least; project scales the crop to the model's size.
		"$f" face align "$work/photos-in" "$work/photos" --size $((size < 64 ? 64 : size)) >/dev/null
	fi
	ls "$work"/held/images/*.png | head -n "$n"
	ls "$work"/photos/*.png 2>/dev/null | grep -v contact-sheet || true
}
