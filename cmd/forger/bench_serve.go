package main

// forger bench serve: a bounded load test of the studio's generation on
// loopback (see loadtest.LoadTest).

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"forger/loadtest"
	"forger/studio"
)

func benchServeCmd() *cobra.Command {
	o := loadtest.LoadTestOptions{}
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
--fetch-images=false times the POST alone.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
	return cmd
}
