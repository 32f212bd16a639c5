package main

// forger bench serve: a bounded load test of the studio's generation on
// loopback (see loadtest.LoadTest).

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"forger/loadtest"
	"forger/studio"
)

func benchServeCmd() *cobra.Command {
	o := loadtest.LoadTestOptions{}
	so := loadtest.SoakOptions{}
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "serve --model CKPT",
		Short: "Load-test the studio's POST /api/generate on loopback",
		Long: `forger bench serve starts the studio in this process on 127.0.0.1 (an
ephemeral port, a temporary data folder with SQLite, no rate limit) serving
the one checkpoint --model, times --single generate requests one after
another, then sends --requests requests of --n images with --concurrency of
them in flight, and prints throughput, latency percentiles, errors, the GEMM
backend and the peak RSS. It talks to that server only, and stops after the
last request or --timeout.

POST /api/generate renders and PNG-encodes the images itself; the answer
holds their URLs, which the page then loads (from the studio's memory). By
default a request's latency covers both, what a visitor waits for;
--fetch-images=false times the POST alone.

forger bench serve --soak 30m --url http://127.0.0.1:8080 sends mixed
traffic to a running studio instead: generates (and their images), morphs of
new seeds, look-alike uploads of a large and a small photo polled to the end
(--uploads), and --slow-uploaders clients trickling a photo in, at --rate
times the base rates (1 generate a second, a morph every 5 s, an upload every
20 s). With --pid (the server's process) and --data (its --data folder) it
samples the server's RSS and disk use, and with --plot draws them (and each
kind's p99 latency) over time.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if so.Duration != 0 {
				return runSoak(cmd, so, o.Model, asJSON)
			}
			path, err := modelArg("--model", o.Model)
			if err != nil {
				return err
			}
			o.Model = path
			if o.Requests < 1 || o.Concurrency < 1 || o.N < 1 || o.N > studio.MaxGenerate || o.Generators < 1 || o.Timeout <= 0 {
				return usagef("--requests, --concurrency and --generators must be at least 1, --n between 1 and %d, --timeout positive", studio.MaxGenerate)
			}
			if o.Concurrency > loadtest.MaxLoadConcurrency || o.Requests > loadtest.MaxLoadRequests {
				return usagef("--concurrency is at most %d, --requests at most %d", loadtest.MaxLoadConcurrency, loadtest.MaxLoadRequests)
			}
			if o.Single == 0 {
				o.Single = -1 // none
			}
			bar := newBar(o.Requests, "bench serve", !asJSON)
			o.Progress = func() { bar.Add(1) }
			r, err := loadtest.LoadTest(cmd.Context(), o)
			bar.Finish()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if err := json.NewEncoder(out).Encode(r); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(out, "serve %s %dx%dx%d ngf %d: %d requests of %d images, %d in flight, %d generator(s) per model\n",
					r.Model, r.Size, r.Size, r.Channels, r.NGF, r.Requests, r.N, r.Concurrency, r.Generators)
				fmt.Fprintf(out, "latency = %s\n", r.Measures)
				if r.SingleRequests > 0 {
					fmt.Fprintf(out, "one request alone: p50 %.1f ms (%d in a row)\n", r.SingleP50Ms, r.SingleRequests)
				}
				fmt.Fprintf(out, "under load: %.2f requests/s, %.1f images/s over %.1f s; latency p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms",
					r.RequestsPerSec, r.ImagesPerSec, r.Seconds, r.P50Ms, r.P90Ms, r.P99Ms, r.MaxMs)
				if r.FetchImages {
					fmt.Fprintf(out, " (the POST alone: p50 %.0f ms, p99 %.0f ms)", r.APIP50Ms, r.APIP99Ms)
				}
				fmt.Fprintf(out, "\nerrors %d", r.Errors)
				if r.TimedOut {
					fmt.Fprint(out, " (timed out)")
				}
				if r.FirstError != "" {
					fmt.Fprintf(out, ", the first: %s", r.FirstError)
				}
				fmt.Fprintf(out, "\ngemm %s (%d threads), peak RSS %.0f MB, load average %.2f before, %.2f after\n",
					r.Gemm, r.Threads, float64(r.PeakRSSBytes)/1e6, r.LoadAvgBefore, r.LoadAvgAfter)
			}
			if r.Errors > 0 {
				return fmt.Errorf("%d of %d requests failed", r.Errors, r.Requests)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Model, "model", "", "checkpoint, run folder or model name to serve")
	f.IntVar(&o.Requests, "requests", 200, "generate requests under load")
	f.IntVar(&o.Concurrency, "concurrency", 200, "requests in flight at once")
	f.IntVar(&o.N, "n", studio.MaxGenerate, "images per request")
	f.IntVar(&o.Single, "single", 20, "requests timed alone, one after another, first (0 = none)")
	f.BoolVar(&o.FetchImages, "fetch-images", true, "also GET every image URL, as the page does (false: time the POST alone)")
	f.IntVar(&o.Generators, "generators", 1, "copies of the model's generator that may run at once (forger serve --generators)")
	f.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "stop the whole test after this long")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	f.DurationVar(&so.Duration, "soak", 0, "soak a running studio (--url) with mixed traffic for this long")
	f.StringVar(&so.URL, "url", "", "with --soak: the running studio, e.g. http://127.0.0.1:8080")
	f.Float64Var(&so.Rate, "rate", 1, "with --soak: times the base rates (10 = ten times)")
	f.IntVar(&so.SlowUploaders, "slow-uploaders", 2, "with --soak: clients trickling an upload in at about 1 KB/s")
	f.BoolVar(&so.Uploads, "uploads", false, "with --soak: send look-alike jobs too (the studio needs its face pipeline)")
	f.IntVar(&so.PID, "pid", 0, "with --soak: the server's process id, to sample its RSS")
	f.StringVar(&so.DataDir, "data", "", "with --soak: the server's --data folder, to sample its disk use")
	f.DurationVar(&so.Every, "every", 5*time.Second, "with --soak: how often RSS and disk are sampled")
	f.StringVar(&so.Plot, "plot", "", "with --soak: write RSS and disk over time to this PNG (and <name>-latency.png)")
	return cmd
}

func runSoak(cmd *cobra.Command, so loadtest.SoakOptions, model string, asJSON bool) error {
	if so.URL == "" {
		return usagef("--soak needs --url, the running studio")
	}
	if so.Duration < 0 || so.Rate < 0 || math.IsNaN(so.Rate) || math.IsInf(so.Rate, 0) || so.SlowUploaders < 0 || so.Every <= 0 {
		return usagef("--soak and --every must be positive, --rate and --slow-uploaders 0 or more")
	}
	so.Model = model
	r, err := loadtest.Soak(cmd.Context(), so)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if asJSON {
		return json.NewEncoder(out).Encode(r)
	}
	fmt.Fprintf(out, "soak of %s (%s) for %.0f s at %g× the base rates\n", r.URL, r.Model, r.Seconds, r.Rate)
	names := make([]string, 0, len(r.Kinds))
	for k := range r.Kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		st := r.Kinds[k]
		fmt.Fprintf(out, "%-8s %6d requests: %d ok, %d refused (429), %d 5xx, %d other errors; p50 %.0f ms, p99 %.0f ms, max %.0f ms",
			k, st.Requests, st.OK, st.Refused, st.Errors5xx, st.Errors, st.P50Ms, st.P99Ms, st.MaxMs)
		if st.FirstError != "" {
			fmt.Fprintf(out, " (first error: %s)", st.FirstError)
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "jobs: %d done, %d failed, %d not finished\n", r.JobsDone, r.JobsFailed, r.JobsPending)
	if so.PID > 0 {
		fmt.Fprintf(out, "server RSS: %.0f MB after warm-up, %.0f MB at the end, %.0f MB at most\n",
			float64(r.WarmRSSBytes)/1e6, float64(r.LastRSSBytes)/1e6, float64(r.PeakRSSBytes)/1e6)
	}
	if so.DataDir != "" {
		fmt.Fprintf(out, "data folder: %.0f MB at most\n", float64(r.PeakDiskBytes)/1e6)
	}
	return nil
}
