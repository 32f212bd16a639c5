package main

// forger bench serve: a bounded load test of the studio's generation on
// loopback (see loadtest.LoadTest).

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"forger/internal/atomicfile"
	"forger/loadtest"
	"forger/studio"
)

func benchServeCmd() *cobra.Command {
	o := loadtest.LoadTestOptions{}
	so := loadtest.SoakOptions{}
	var asJSON bool
	var soakMaxRSSMB, soakMaxDiskMB float64
	var soakOut string
	var soakCheck bool
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
kind's p99 latency) over time.

Given the command that starts the studio after --, the soak runs the
server itself: it kills it (SIGKILL) at --kill-at and stops it (SIGTERM) at
--term-at, starting it again each time, then waits up to --drain for the
look-alike jobs and checks, in the server's database (--db, or forger.db in
--data), that every job created finished once. --photo uploads face
photos (each as it is and scaled up to 3000 pixels) instead of made-up
gradients; --clients spreads the traffic over that many made-up addresses
in X-Forwarded-For (start the server with --trusted-proxy 127.0.0.1). It
ends with issue 22's checks (peak RSS under --max-rss-mb, RSS flat after
warm-up, data folder under --max-disk-mb, generate p99 under 1 s and
upload p99 under 2 s, no 5xx, no job lost or duplicated), and with --check
exits 1 when one does not hold; --out writes the whole result as JSON.

  forger bench serve --soak 2m --url http://127.0.0.1:18080 --rate 10 --uploads \
    --data /tmp/soak --kill-at 40s --term-at 80s --plot soak.png --out soak.json --check -- \
    bin/forger serve --addr 127.0.0.1:18080 --data /tmp/soak --models runs --trusted-proxy 127.0.0.1`,
		Args: func(cmd *cobra.Command, args []string) error {
			if dash := cmd.ArgsLenAtDash(); len(args) > 0 && (dash != 0 || so.Duration == 0) {
				return usagef("bench serve takes no arguments; with --soak, the server's command comes after --")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if so.Duration != 0 {
				so.Server = args
				if math.IsNaN(soakMaxRSSMB) || math.IsNaN(soakMaxDiskMB) || math.IsInf(soakMaxRSSMB, 0) || math.IsInf(soakMaxDiskMB, 0) || soakMaxDiskMB < 0 {
					return usagef("--max-rss-mb and --max-disk-mb must be finite numbers, --max-disk-mb 0 or more")
				}
				so.MaxRSSBytes, so.MaxDiskBytes = int64(soakMaxRSSMB*1e6), int64(soakMaxDiskMB*1e6)
				if soakMaxRSSMB < 0 {
					so.MaxRSSBytes = -1
				}
				return runSoak(cmd, so, o.Model, asJSON, soakOut, soakCheck)
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
	f.DurationVar(&so.KillAt, "kill-at", 0, "with --soak and a server command: kill -9 the server this long after the start, and start it again (0 = never)")
	f.DurationVar(&so.TermAt, "term-at", 0, "with --soak and a server command: SIGTERM the server this long after the start, and start it again (0 = never)")
	f.DurationVar(&so.Drain, "drain", 10*time.Minute, "with --soak --uploads: how long to wait for unfinished jobs after the traffic")
	f.StringVar(&so.DB, "db", "", "with --soak: the server's database URL, to check its jobs (default: forger.db in --data)")
	f.StringVar(&so.ServerLog, "server-log", "", "with --soak and a server command: append the server's output to this file")
	f.StringSliceVar(&so.Photos, "photo", nil, "with --soak: a face photo to upload (repeatable; default: made-up gradients, which have no face)")
	f.IntVar(&so.Clients, "clients", 0, "with --soak: spread requests over this many made-up client addresses in X-Forwarded-For (0 = one client)")
	f.Float64Var(&soakMaxRSSMB, "max-rss-mb", loadtest.DefaultSoakMaxRSS/1e6, "with --soak: the server's RSS bound checked, in MB of 10^6 bytes (-1 = none)")
	f.Float64Var(&soakMaxDiskMB, "max-disk-mb", 0, "with --soak: the data folder's bound checked, in MB of 10^6 bytes (0 = none)")
	f.StringVar(&soakOut, "out", "", "with --soak: also write the result as JSON to this file")
	f.BoolVar(&soakCheck, "check", false, "with --soak: exit 1 when one of issue 22's checks does not hold")
	return cmd
}

func runSoak(cmd *cobra.Command, so loadtest.SoakOptions, model string, asJSON bool, outFile string, check bool) error {
	if so.URL == "" {
		return usagef("--soak needs --url, the running studio")
	}
	if so.Duration < 0 || so.Rate < 0 || math.IsNaN(so.Rate) || math.IsInf(so.Rate, 0) || so.SlowUploaders < 0 || so.Every <= 0 ||
		so.Clients < 0 || so.KillAt < 0 || so.TermAt < 0 || so.Drain <= 0 {
		return usagef("--soak, --every and --drain must be positive, --rate, --slow-uploaders, --clients, --kill-at and --term-at 0 or more")
	}
	if (so.KillAt > 0 || so.TermAt > 0) && len(so.Server) == 0 {
		return usagef("--kill-at and --term-at need the server's command after --")
	}
	if so.KillAt >= so.Duration || so.TermAt >= so.Duration {
		return usagef("--kill-at and --term-at must fall within --soak")
	}
	so.Model = model
	r, err := loadtest.Soak(cmd.Context(), so)
	if err != nil {
		return err
	}
	if outFile != "" {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		if err := atomicfile.WriteBytes(outFile, append(b, '\n')); err != nil {
			return err
		}
	}
	out := cmd.OutOrStdout()
	if asJSON {
		if err := json.NewEncoder(out).Encode(r); err != nil {
			return err
		}
	} else {
		printSoak(out, so, r)
	}
	failed := 0
	for _, c := range r.Checks {
		if !c.OK {
			failed++
		}
	}
	if failed > 0 && check {
		return fmt.Errorf("soak: %d of %d checks failed", failed, len(r.Checks))
	}
	return nil
}

func printSoak(out io.Writer, so loadtest.SoakOptions, r loadtest.SoakResult) {
	fmt.Fprintf(out, "soak of %s (%s) for %.0f s at %g× the base rates (load average %.2f before, %.2f after)\n", r.URL, r.Model, r.Seconds, r.Rate, r.LoadAvgBefore, r.LoadAvgAfter)
	names := make([]string, 0, len(r.Kinds))
	for k := range r.Kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		st := r.Kinds[k]
		fmt.Fprintf(out, "%-8s %6d requests: %d ok, %d refused (429), %d 5xx, %d other errors, %d cut by a restart; p50 %.0f ms, p99 %.0f ms, max %.0f ms",
			k, st.Requests, st.OK, st.Refused, st.Errors5xx, st.Errors, st.DuringRestart, st.P50Ms, st.P99Ms, st.MaxMs)
		if st.FirstError != "" {
			fmt.Fprintf(out, " (first error: %s)", st.FirstError)
		}
		fmt.Fprintln(out)
	}
	for _, e := range r.Events {
		fmt.Fprintf(out, "at %6.1f s: %s", e.Seconds, e.What)
		if e.PID != 0 {
			fmt.Fprintf(out, " (pid %d)", e.PID)
		}
		if e.Detail != "" && e.What != "started" {
			fmt.Fprintf(out, ": %s", e.Detail)
		}
		fmt.Fprintln(out)
	}
	j := r.Jobs
	fmt.Fprintf(out, "jobs: %d created, %d done, %d failed, %d retried, %d lost (waited %.0f s for them)\n", j.Created, j.Done, j.Failed, j.Retried, len(j.Lost), j.DrainSeconds)
	for reason, n := range j.FailReasons {
		fmt.Fprintf(out, "  failed %d× with %q\n", n, reason)
	}
	if j.CheckedDB {
		fmt.Fprintf(out, "database: %d job records, %d unfinished, %d with more than one River job, %d with none, %d with a run folder left\n",
			j.Records, len(j.Unfinished), len(j.Duplicated), len(j.NotQueued), len(j.RunFoldersLeft))
	} else if j.DBError != "" {
		fmt.Fprintf(out, "database: not checked: %s\n", j.DBError)
	}
	if so.PID > 0 || len(so.Server) > 0 {
		fmt.Fprintf(out, "server RSS: %.0f MB after warm-up, %.0f MB at the end, %.0f MB at most\n",
			float64(r.WarmRSSBytes)/1e6, float64(r.LastRSSBytes)/1e6, float64(r.PeakRSSBytes)/1e6)
	}
	if so.DataDir != "" {
		fmt.Fprintf(out, "data folder: %.0f MB at most\n", float64(r.PeakDiskBytes)/1e6)
	}
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(out, "%s %s: %.4g %s (bound %.4g)\n", mark, c.Name, c.Value, c.Unit, c.Bound)
	}
}
