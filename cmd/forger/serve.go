package main

// forger serve: the web studio. forger worker (the same command under
// another name): only the look-alike job workers, so that several machines
// can share one PostgreSQL queue.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"forger/internal/home"
	"forger/lookalike"
	"forger/runfolder"
	"forger/store"
	"forger/studio"
)

type serveOptions struct {
	models, gallery, data, addr, db, smtp, adminToken, baseURL string
	faceModel                                                  string
	worker                                                     bool   // run as forger worker
	noLookalike                                                string // why serve runs without look-alike jobs
	workers, rateBurst, generators                             int
	imageCacheMB, memoryLimitMB                                int
	jobBurst, maxQueuedPerAddress, maxQueued                   int
	jobRate                                                    float64
	trustedProxies, mailAllow                                  []string
	mailPerDay                                                 int
	retention, jobTimeout, rescueAfter, grace                  time.Duration
	rate                                                       float64
}

// lookalikePipeline builds the look-alike pipeline (align → match →
// render): lookalike.Pipeline, unless a test installs a pipeline of its
// own.
var lookalikePipeline = newLookalikePipeline

// newLookalikePipeline builds the face pipeline: face-api's networks from
// $FORGER_HOME/models/face, the gallery (--gallery's index and the
// studio's own gallery in st) and the face GAN for the morph (--face-model,
// or chosen among --models).
func newLookalikePipeline(o *serveOptions, st *store.Store, log *slog.Logger) (studio.Pipeline, error) {
	model, why, err := lookalike.ChooseModel(o.models, o.faceModel)
	if err != nil {
		return nil, usageError{err}
	}
	if why == lookalike.WhyNamed {
		why = "named by --face-model"
	}
	if model == "" {
		if o.models == "" {
			why = "no --models folder"
		}
		log.Warn("look-alike: no face GAN, so no morph and no smile (train a 3-channel model, e.g. bash scripts/demo.sh)", "why", why)
	} else {
		log.Info("look-alike: face GAN for the morph", "model", model, "why", why)
	}
	return lookalike.New(lookalike.Config{Index: o.gallery, Store: st, DataDir: o.data, Model: model, Log: log})
}

func serveCmd() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:     "serve --models DIR",
		Aliases: []string{"worker"},
		Short:   "Run the web studio (as forger worker: only the look-alike job workers)",
		Long: `forger serve runs the web studio: pages to generate images, explore a model
and find a visitor's look-alike, and the JSON API behind them (see README).

forger worker --db URL --data DIR runs only the look-alike job workers, no web
server: start it on several machines that share one PostgreSQL database (and
one --data folder, for example over NFS) to spread the jobs.

--db defaults to an SQLite file, forger.db, in --data; postgres://… uses
PostgreSQL. Both get the same schema through versioned migrations.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.adminToken == "" {
				o.adminToken = os.Getenv("FORGER_ADMIN_TOKEN")
			}
			if o.grace < 0 {
				return usagef("--grace must be 0 or more")
			}
			if err := studio.CheckAdminToken(o.adminToken); err != nil {
				return usagef("the admin token (--admin-token or $FORGER_ADMIN_TOKEN) must have at least %d characters; make one with: openssl rand -hex 16", studio.MinAdminTokenLen)
			}
			if cmd.CalledAs() == "worker" {
				o.worker = true
				return runWorker(cmd.Context(), &o)
			}
			return runServe(cmd.Context(), &o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.models, "models", "", "folder of checkpoints, searched recursively (serve; worker: where the face GAN is chosen)")
	f.StringVar(&o.gallery, "gallery", "", "look-alike gallery: a face index made by 'forger face index' (the admin API adds photos besides)")
	f.StringVar(&o.faceModel, "face-model", "", "face GAN of the look-alike morph: a model name from --models, or a checkpoint (default: chosen automatically, see README)")
	f.StringVar(&o.data, "data", filepath.Join(home.Dir(), "studio"), "folder for the database, uploads and results")
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on (serve)")
	f.StringVar(&o.db, "db", "", "database URL: postgres://… or sqlite:FILE (default: forger.db in --data)")
	f.IntVar(&o.workers, "workers", 2, "look-alike jobs run at once by this process (serve: 0 = leave them to forger worker)")
	f.StringVar(&o.smtp, "smtp", "", "send e-mail through smtp://[user:password@]host[:port][?from=address] (or smtps://)")
	f.StringVar(&o.adminToken, "admin-token", "", "token for model and gallery changes (or $FORGER_ADMIN_TOKEN); none: admin API off")
	f.DurationVar(&o.retention, "retention", studio.DefaultRetention, "delete uploads, results and job records after this long")
	f.Float64Var(&o.rate, "rate", 5, "generation requests per second per client address (0 = no limit)")
	f.IntVar(&o.rateBurst, "burst", 20, "generation requests a client address may make at once")
	f.IntVar(&o.generators, "generators", 1, "copies of each model's generator that may run at once")
	f.StringVar(&o.baseURL, "base-url", "", "the studio's public URL, for links in e-mails (default http://ADDR)")
	f.DurationVar(&o.jobTimeout, "job-timeout", studio.DefaultJobTimeout, "cancel a look-alike job's run after this long")
	f.DurationVar(&o.rescueAfter, "rescue-after", 0, "retry a job whose worker died once it has been running this long (default: job timeout + 1m)")
	f.DurationVar(&o.grace, "grace", 30*time.Second, "on SIGTERM or Ctrl-C, how long running look-alike jobs may take to finish before they are cancelled (and retried later)")
	f.Float64Var(&o.jobRate, "job-rate", 2, "look-alike jobs per minute per client address, a limit apart from --rate (0 = no limit)")
	f.IntVar(&o.jobBurst, "job-burst", 4, "look-alike jobs a client address may start at once")
	f.IntVar(&o.maxQueuedPerAddress, "max-queued-per-address", 3, "look-alike jobs not yet finished that one client address may have (0 = no cap)")
	f.IntVar(&o.maxQueued, "max-queued", 100, "look-alike jobs not yet finished in all (0 = no cap)")
	f.StringSliceVar(&o.trustedProxies, "trusted-proxy", nil, "a reverse proxy (CIDR or address, repeatable) whose X-Forwarded-For names the client, for the rate limits")
	f.StringSliceVar(&o.mailAllow, "mail-allow", nil, "the only addresses visitors may ask e-mail for, mailed without a confirmation link: ada@example.com or @example.com (repeatable; default: any address, once its owner has used the link mailed to it)")
	f.IntVar(&o.mailPerDay, "mail-per-day", studio.DefaultMailsPerDay, "job e-mails one address may be sent in 24 hours (-1 = no cap)")
	f.IntVar(&o.imageCacheMB, "image-cache-mb", 0, "memory for recently made pictures, in MB (default: a thirty-second of the machine's memory, 64–256)")
	f.IntVar(&o.memoryLimitMB, "memory-limit-mb", 0, "Go memory limit in MB, the heap size past which the garbage collector works harder (default: $GOMEMLIMIT, else 1024 + twice the image cache, at most half the machine's memory; -1: none)")
	return cmd
}

// setMemoryLimit applies studio.SetMemoryLimit for --memory-limit-mb and
// --image-cache-mb and logs the limit in force. A worker (withCache
// false) holds no image cache.
func setMemoryLimit(o *serveOptions, log *slog.Logger, withCache bool) {
	if l := studio.SetMemoryLimit(o.memoryLimitMB, int64(o.imageCacheMB)<<20, withCache); l < math.MaxInt64 {
		log.Info("memory limit", "mb", l>>20)
	}
}

func newLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// openStore opens and migrates the database.
func openStore(ctx context.Context, o *serveOptions, log *slog.Logger) (*store.Store, error) {
	if err := os.MkdirAll(o.data, 0o755); err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, o.db, o.data, log)
	if err != nil && o.db != "" {
		return nil, fmt.Errorf("--db: %w", err)
	}
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// publicURL is the studio's URL in e-mails: --base-url, else http://ADDR.
func (o *serveOptions) publicURL() string {
	if o.baseURL != "" {
		return o.baseURL
	}
	return "http://" + o.addr
}

// common builds what serve and worker share: store, pipeline, mailer,
// runner and queue.
func common(ctx context.Context, o *serveOptions, log *slog.Logger, workers int) (*store.Store, studio.Pipeline, *studio.Mailer, *studio.Queue, error) {
	if o.workers < 0 {
		return nil, nil, nil, nil, usagef("--workers must be 0 or more")
	}
	var mailer *studio.Mailer
	if o.smtp != "" {
		m, err := studio.ParseSMTPURL(o.smtp)
		if err != nil {
			return nil, nil, nil, nil, usageError{fmt.Errorf("--smtp: %w", err)}
		}
		if o.mailPerDay == 0 || o.mailPerDay < -1 {
			return nil, nil, nil, nil, usagef("--mail-per-day must be at least 1, or -1 for no cap")
		}
		for _, a := range o.mailAllow {
			if _, err := studio.ValidEmail(strings.TrimPrefix(a, "@")); err != nil && !strings.HasPrefix(a, "@") {
				return nil, nil, nil, nil, usagef("--mail-allow %q: not an address or @domain", a)
			}
		}
		m.Policy.Allow, m.Policy.PerDay = o.mailAllow, o.mailPerDay
		mailer = m
	}
	st, err := openStore(ctx, o, log)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	var pipeline studio.Pipeline
	if lookalikePipeline != nil {
		p, err := lookalikePipeline(o, st, log)
		switch {
		case err == nil:
			pipeline = p
		case errors.Is(err, lookalike.ErrFaceModels) && !o.worker && o.gallery == "":
			// A studio for generating only: look-alike jobs answer 503.
			log.Warn("look-alike: off", "why", err.Error())
			o.noLookalike = err.Error()
		default:
			st.Close()
			var ue usageError
			if errors.As(err, &ue) {
				return nil, nil, nil, nil, err
			}
			return nil, nil, nil, nil, fmt.Errorf("look-alike pipeline: %w", err)
		}
	}
	if pipeline == nil {
		workers = 0 // a worker without a pipeline would only fail jobs
	}
	runner := &studio.Runner{Store: st, Pipeline: pipeline, DataDir: o.data, Mailer: mailer, BaseURL: o.publicURL(), Log: log}
	q, err := studio.NewQueue(st, studio.QueueConfig{Workers: workers, Runner: runner, JobTimeout: o.jobTimeout, RescueAfter: o.rescueAfter, Log: log})
	if err != nil {
		st.Close()
		return nil, nil, nil, nil, err
	}
	return st, pipeline, mailer, q, nil
}

// describePipeline is the pipeline's own description, when it has one.
func describePipeline(p studio.Pipeline) string {
	if d, ok := p.(interface{ Describe() string }); ok {
		return d.Describe()
	}
	return fmt.Sprintf("%T", p)
}

func yesNo(ok bool, yes, no string) string {
	if ok {
		return "yes (" + yes + ")"
	}
	return "no (" + no + ")"
}

func runServe(ctx context.Context, o *serveOptions) error {
	if o.models == "" {
		return usagef("--models DIR is required (a folder of checkpoints)")
	}
	if st, err := os.Stat(o.models); err != nil || !st.IsDir() {
		return usagef("--models %s: not a folder", o.models)
	}
	if o.retention <= 0 {
		return usagef("--retention must be positive")
	}
	if o.imageCacheMB < 0 {
		return usagef("--image-cache-mb must be 0 (automatic) or more")
	}
	if o.rate < 0 || math.IsNaN(o.rate) || math.IsInf(o.rate, 0) {
		return usagef("--rate must be a number, 0 or more")
	}
	if o.jobRate < 0 || math.IsNaN(o.jobRate) || math.IsInf(o.jobRate, 0) || o.jobBurst < 1 || o.maxQueuedPerAddress < 0 || o.maxQueued < 0 {
		return usagef("--job-rate, --max-queued-per-address and --max-queued must be 0 or more, --job-burst at least 1")
	}
	proxies, err := studio.ParseTrustedProxies(o.trustedProxies)
	if err != nil {
		return usagef("--trusted-proxy: %v", err)
	}
	log := newLogger()
	setMemoryLimit(o, log, true)
	st, pipeline, mailer, q, err := common(ctx, o, log, o.workers)
	if err != nil {
		return err
	}
	defer st.Close()
	srv, err := studio.New(studio.Config{
		ImageCacheBytes: int64(o.imageCacheMB) << 20,
		JobsPerMinute:   o.jobRate, JobBurst: o.jobBurst, MaxQueuedPerAddress: o.maxQueuedPerAddress, MaxQueued: o.maxQueued,
		TrustedProxies: proxies,
		ModelsDir:      o.models, GalleryFile: o.gallery, DataDir: o.data, AdminToken: o.adminToken, Retention: o.retention,
		RatePerSecond: o.rate, RateBurst: o.rateBurst, GeneratorsPerModel: o.generators,
		Pipeline: pipeline, Directions: studio.RunDirections{}, Mailer: mailer, BaseURL: o.publicURL(), Log: log,
	}, st, q)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	workers := o.workers
	if pipeline == nil {
		workers = 0
	}
	nModels := srv.ModelCount()
	withDirs := 0
	for _, mi := range srv.Models() {
		if names, _ := (studio.RunDirections{}).List(mi); len(names) > 0 {
			withDirs++
		}
	}
	noLookalike := o.noLookalike
	if noLookalike == "" {
		noLookalike = "no face pipeline"
	}
	log.Info("forger serve: capabilities",
		"generate", yesNo(nModels > 0, fmt.Sprintf("%d models in %s", nModels, o.models), "no checkpoints in "+o.models),
		"lookalike", yesNo(pipeline != nil, fmt.Sprintf("%d workers here; %s", workers, describePipeline(pipeline)), noLookalike+": POST /api/jobs answers 503"),
		"directions", fmt.Sprintf("yes (%d of %d models have learned directions in %s)", withDirs, nModels, runfolder.Direction("<run>", "*")),
		"email", yesNo(mailer != nil, fmt.Sprint(mailer), "no --smtp"),
		"admin", yesNo(o.adminToken != "", "token set", "no --admin-token: model and gallery changes refused"),
		"database", st.String(),
		"retention", o.retention.String(),
		"image_cache_mb", srv.ImageCacheBytes()>>20)
	// The signal cancels ctx; River would take that as a hard stop and
	// cancel running jobs, so it gets a context of its own and is stopped
	// with its grace period below.
	if mailer != nil {
		allow := "any address, once confirmed by a link"
		if len(o.mailAllow) > 0 {
			allow = strings.Join(o.mailAllow, ",")
		}
		log.Info("e-mail: whom visitors may ask it for", "allow", allow, "per_address_per_day", o.mailPerDay)
	}
	if err := q.Start(context.WithoutCancel(ctx)); err != nil {
		ln.Close()
		return fmt.Errorf("starting the job queue: %w", err)
	}
	go studio.SweepLoop(ctx, st, o.data, o.retention, log)
	log.Info("forger serve: listening", "url", "http://"+ln.Addr().String())
	err = srv.Serve(ctx, ln)
	log.Info("forger serve: shutting down", "grace", o.grace.String(), "running_jobs", "waiting for them to finish")
	if qerr := stopQueue(q, o.grace, log); qerr != nil && err == nil {
		err = qerr
	}
	return err
}

// stopQueue stops the job queue, giving running jobs grace to finish.
func stopQueue(q *studio.Queue, grace time.Duration, log *slog.Logger) error {
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	start := time.Now()
	err := q.Stop(sctx)
	switch {
	case errors.Is(err, studio.ErrStopCancelled):
		log.Warn("jobs still running after the grace period were cancelled; they will be retried", "grace", grace.String())
		return nil
	case err != nil:
		return err
	}
	log.Info("job queue stopped", "after", time.Since(start).Round(time.Millisecond).String())
	return nil
}
