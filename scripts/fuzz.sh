#!/usr/bin/env bash
# Runs every fuzz target in the repository — the readers of untrusted bytes:
# uploads (studio FuzzDecodePhoto), EXIF orientation and image decoding
# (face), TF.js manifests (face), safetensors (tensor), IDX (dataset) and
# whatever Fuzz tests other packages add (the interop readers) — one after
# the other, MINUTES minutes each (default 1), with PARALLEL workers
# (default 1: the machine is shared). A crasher is written by go test to
# <package>/testdata/fuzz/<Target>/ and, once committed, runs as a
# regression test with every plain `go test`.
#
#   MINUTES=10 bash scripts/fuzz.sh            # every target, 10 minutes each
#   ONLY=FuzzDecodePhoto bash scripts/fuzz.sh  # one target
#   LIST=1 bash scripts/fuzz.sh                # list the targets
#   REPORT=docs/results/fuzz.md MINUTES=10 bash scripts/fuzz.sh   # and write the table
#
# At the end it prints a table: each target's minutes, executions, corpus
# size and result (REPORT=FILE also writes it there as Markdown).
#
# MINIMIZE (default 5s) bounds how long go test minimises each new
# interesting input (-fuzzminimizetime; go test's default is 60 s an
# input), so that a target finding many new inputs, as FuzzLoad does,
# spends its minutes fuzzing rather than minimising.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${MINUTES:-1}
PARALLEL=${PARALLEL:-1}
ONLY=${ONLY:-}
MINIMIZE=${MINIMIZE:-5s}

# Every "func FuzzX(f *testing.F)" of a _test.go file, as "./pkg FuzzX".
mapfile -t targets < <(grep -rE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . |
	sed -E 's#^(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]*).*#\1 \2#' | sort -u)
if [[ ${#targets[@]} -eq 0 ]]; then
	echo "no fuzz targets found" >&2
	exit 1
fi

failed=0
rows=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "${targets[@]}"; do
	pkg=${t% *} name=${t#* }
	if [[ -n $ONLY && $ONLY != "$name" ]]; then
		continue
	fi
	if [[ -n ${LIST:-} ]]; then
		echo "$pkg $name"
		continue
	fi
	echo "== $name ($pkg), ${MINUTES} min"
	result=ok
	if ! go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "${MINUTES}m" -fuzzminimizetime "$MINIMIZE" -parallel "$PARALLEL" 2>&1 | tee "$log"; then
		echo "!! $name failed: see the crasher under ${pkg#./}/testdata/fuzz/$name/"
		failed=1
		result="FAILED (crasher in ${pkg#./}/testdata/fuzz/$name/)"
	fi
	# The last progress line: "fuzz: elapsed: 10m0s, execs: 3886064 (…), new interesting: 35 (total: 211)".
	last=$(grep '^fuzz: elapsed' "$log" | tail -n 1 || true)
	execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
	corpus=$(sed -nE 's/.*\(total: ([0-9]+)\).*/\1/p' <<<"$last")
	rows+=("| \`$name\` | ${pkg#./} | $MINUTES | ${execs:-?} | ${corpus:-?} | $result |")
done
if [[ ${#rows[@]} -gt 0 ]]; then
	table=$(printf '%s\n' "| target | package | minutes | executions | corpus | result |" "| --- | --- | ---: | ---: | ---: | --- |" "${rows[@]}")
	echo "$table"
	if [[ -n ${REPORT:-} ]]; then
		{
			echo "# Fuzzing the readers of untrusted bytes"
			echo
			echo "\`REPORT=$REPORT MINUTES=$MINUTES bash scripts/fuzz.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, $(git rev-parse --short HEAD), $PARALLEL worker(s) a target; load average at the end $(cut -d' ' -f1-3 /proc/loadavg)."
			echo
			echo "$table"
		} >"$REPORT"
	fi
fi
exit $failed
