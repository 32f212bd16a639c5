# Sourced by the measuring scripts: the load average beside every figure.
#
# load_sampler FILE: appends "unix-time load1 load5 load15" every 10 s until
# stopped with stop_sampler; load_json FILE prints what it saw as JSON.
sampler=
load_sampler() {
	(while :; do
		echo "$(date +%s) $(cut -d' ' -f1-3 /proc/loadavg)"
		sleep 10
	done) >>"$1" 2>/dev/null &
	sampler=$!
}
stop_sampler() {
	if [[ -n $sampler ]]; then
		kill "$sampler" 2>/dev/null || true
		wait "$sampler" 2>/dev/null || true
		sampler=
	fi
}
load_json() {
	awk 'NF >= 2 { n++; s += $2; if (n == 1) first = $2; last = $2; if ($2 > max) max = $2 }
	     END { if (n) printf("{\"mean\": %.2f, \"max\": %.2f, \"start\": %.2f, \"end\": %.2f, \"samples\": %d, \"every_seconds\": 10}\n", s / n, max, first, last, n); else print "null" }' "$1"
}
