#!/usr/bin/env bash
# make soak: issue 22's soak of the studio, in one command. It builds
# forger, starts `forger serve` on a 64×64 face model with the
# look-alike pipeline, and runs `forger bench serve --soak` against it for
# MINUTES: generates, morphs of new seeds, uploads of large and small face
# photos polled as the job page polls them, two slow uploaders, at RATE
# times the soak's base rates (1 generate of 4 images a second, a 48-frame
# morph every 5 s, an upload every 20 s), from CLIENTS made-up client
# addresses (X-Forwarded-For, the server trusting 127.0.0.1). At a third of
# the time the server is killed with SIGKILL, at two thirds stopped with
# SIGTERM, and started again each time; after the traffic the soak waits
# for the jobs and checks in the server's database that each one finished,
# once. It samples the server's RSS and data folder throughout and writes
#
#   $OUT/$NAME.json          everything (p50/p99 per kind, 5xx, events, jobs, samples, checks)
#   $OUT/$NAME.png           RSS and disk over time, the kill and the SIGTERM marked
#   $OUT/$NAME-latency.png   each kind's p99 per interval
#   $OUT/$NAME.txt           the summary, with the machine's load average
#
# and exits 1 when one of the issue's bounds does not hold (MAX_RSS_MB,
# RSS flat after warm-up, MAX_DISK_MB, generate p99 1 s, upload p99 2 s,
# no 5xx, no job lost or duplicated). Run it on a quiet machine.
#
# Settings (environment):
#   MINUTES=30        traffic time (the jobs' drain comes after, up to DRAIN)
#   RATE=10           times the base rates
#   MODELS=runs       the folder forger serve scans for models
#   MODEL=            the model to generate from and morph (default: a 64×64
#                     RGB run from `forger models list $MODELS`, quality-faces-64 first)
#   FACE_MODEL=       the look-alike's face GAN (default: MODEL)
#   GALLERY=          a face index (default: face-api's demo photos
#                     sample1-5, indexed into WORK as scripts/demo.sh does)
#   PHOTOS=           face photos to upload, space-separated (default:
#                     face-api's sample6.jpg and sample1.jpg)
#   CLIENTS=50  SLOW=2  DRAIN=10m  EVERY=5s
#   MAX_RSS_MB=1500   MAX_DISK_MB=2000
#   PORT=18080  WORK=(a new temporary folder)  OUT=docs/results  NAME=studio-soak
#   JOB_TIMEOUT=2m  RESCUE_AFTER=3m
#                     the server's --job-timeout and --rescue-after: a job
#                     cut by the kill -9 is retried RESCUE_AFTER after it
#                     started, so it must be shorter than the time from the
#                     kill to the end of the drain, or the check counts the
#                     job as lost (the server's defaults, 10m and 11m, are
#                     longer than a short soak)
#   SERVE_FLAGS=      more forger serve flags (e.g. --image-cache-mb 256)
#   BIN=              a forger binary to use (default: built from this tree into WORK)
#   NICE=             a niceness for everything (NICE=19 for a short check
#                     on a busy machine: MINUTES=2 NICE=19 OUT=/tmp/soak make soak)
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES=${MINUTES:-30}
RATE=${RATE:-10}
MODELS=${MODELS:-runs}
CLIENTS=${CLIENTS:-50}
SLOW=${SLOW:-2}
DRAIN=${DRAIN:-10m}
EVERY=${EVERY:-5s}
MAX_RSS_MB=${MAX_RSS_MB:-1500}
MAX_DISK_MB=${MAX_DISK_MB:-2000}
PORT=${PORT:-18080}
OUT=${OUT:-docs/results}
NAME=${NAME:-studio-soak}
JOB_TIMEOUT=${JOB_TIMEOUT:-2m}
RESCUE_AFTER=${RESCUE_AFTER:-3m}
SERVE_FLAGS=${SERVE_FLAGS:-}
WORK=${WORK:-$(mktemp -d /tmp/forger-soak.XXXXXX)}
nice=()
if [[ -n ${NICE:-} ]]; then nice=(nice -n "$NICE"); fi
log() { echo "== soak $(date +%H:%M:%S): $*" >&2; }

F=${BIN:-}
if [[ -z $F ]]; then
	# A binary of its own, so that the build never touches a bin/forger
	# another process is running.
	mkdir -p "$WORK"
	F=$WORK/forger
	log "building $F"
	"${nice[@]}" go build -o "$F" ./cmd/forger
fi

facemodels=$($F models path)
for f in face_recognition_model.bin sample1.jpg sample6.jpg; do
	if [[ ! -e $facemodels/$f ]]; then
		echo "soak: face-api's models and demo photos are missing in $facemodels: run bash scripts/face/get-models.sh" >&2
		exit 1
	fi
done

MODEL=${MODEL:-}
if [[ -z $MODEL ]]; then
	# The newest checkpoint of each run is starred; a 64×64 RGB one,
	# quality-faces-64 first.
	list=$($F models list "$MODELS" | awk 'NR > 1 && $2 == "*" && $4 == "64x64x3" { sub("/.*", "", $1); print $1 }')
	if grep -qx quality-faces-64 <<<"$list"; then MODEL=quality-faces-64; else MODEL=$(head -n 1 <<<"$list"); fi
	if [[ -z $MODEL ]]; then
		echo "soak: no 64×64 RGB model under $MODELS (make quality-faces trains one; or set MODEL)" >&2
		exit 1
	fi
fi
FACE_MODEL=${FACE_MODEL:-$MODEL}

mkdir -p "$WORK" "$OUT"
GALLERY=${GALLERY:-}
if [[ -z $GALLERY ]]; then
	GALLERY=$WORK/gallery/gallery.db
	if [[ ! -e $GALLERY ]]; then
		log "indexing the gallery (face-api's sample1-5)"
		mkdir -p "$WORK/gallery/people"
		names=(Alice Bea Cleo Dana Eve)
		for i in 1 2 3 4 5; do cp "$facemodels/sample$i.jpg" "$WORK/gallery/people/${names[$((i - 1))]}.jpg"; done
		"${nice[@]}" $F face index "$WORK/gallery/people" --db "$GALLERY" >&2
	fi
fi
PHOTOS=${PHOTOS:-"$facemodels/sample6.jpg $facemodels/sample1.jpg"}
photo_flags=()
for p in $PHOTOS; do photo_flags+=(--photo "$p"); done

data=$WORK/data
rm -rf "$data"
secs=$(awk -v m="$MINUTES" 'BEGIN { printf "%d", m * 60 }')
kill_at=$((secs / 3))
term_at=$((2 * secs / 3))
url=http://127.0.0.1:$PORT
log "model $MODEL, face GAN $FACE_MODEL, gallery $GALLERY; ${secs} s at ${RATE}× from $CLIENTS clients, kill -9 at ${kill_at} s, SIGTERM at ${term_at} s; work folder $WORK"

status=0
# shellcheck disable=SC2086 # SERVE_FLAGS is split on purpose
"${nice[@]}" $F bench serve --soak "${secs}s" --url "$url" --model "$MODEL" --rate "$RATE" --uploads \
	--slow-uploaders "$SLOW" --clients "$CLIENTS" "${photo_flags[@]}" --data "$data" --every "$EVERY" \
	--kill-at "${kill_at}s" --term-at "${term_at}s" --drain "$DRAIN" \
	--max-rss-mb "$MAX_RSS_MB" --max-disk-mb "$MAX_DISK_MB" --server-log "$WORK/serve.log" \
	--plot "$OUT/$NAME.png" --out "$OUT/$NAME.json" --check -- \
	$F serve --addr "127.0.0.1:$PORT" --models "$MODELS" --data "$data" --gallery "$GALLERY" \
	--face-model "$FACE_MODEL" --trusted-proxy 127.0.0.1 --job-timeout "$JOB_TIMEOUT" --rescue-after "$RESCUE_AFTER" $SERVE_FLAGS \
	>"$WORK/summary.txt" || status=$?
{
	echo "forger studio soak, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(git rev-parse --short HEAD)"
	echo "model $MODEL, face GAN $FACE_MODEL; $MINUTES min at ${RATE}× the base rates, $CLIENTS clients, $SLOW slow uploaders"
	echo "server flags: --trusted-proxy 127.0.0.1 --job-timeout $JOB_TIMEOUT --rescue-after $RESCUE_AFTER $SERVE_FLAGS"
	cat "$WORK/summary.txt"
} >"$OUT/$NAME.txt"
cat "$OUT/$NAME.txt"
log "wrote $OUT/$NAME.json, $OUT/$NAME.png, $OUT/$NAME-latency.png, $OUT/$NAME.txt (server log: $WORK/serve.log)"
exit $status
