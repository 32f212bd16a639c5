package studio

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"forger/store"
)

// LookalikeArgs is the River job of a look-alike job: only the id of the
// job's record in the store, which holds everything else.
type LookalikeArgs struct {
	JobID string `json:"job_id"`
}

// Kind names the job for River.
func (LookalikeArgs) Kind() string { return "forger_lookalike" }

// InsertOpts: a few attempts, and one River job per record even if the
// insert is repeated.
func (LookalikeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: DefaultMaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// Queue defaults.
const (
	DefaultMaxAttempts = 5
	DefaultJobTimeout  = 10 * time.Minute
)

// QueueConfig configures the River client.
type QueueConfig struct {
	// Workers is how many jobs this process runs at once; 0 makes an
	// insert-only client (a server whose jobs other processes run).
	Workers int
	// Runner runs the jobs (needed when Workers > 0).
	Runner *Runner
	// JobTimeout cancels a run's context after this long (River's
	// JobTimeout; default DefaultJobTimeout).
	JobTimeout time.Duration
	// RescueAfter is River's RescueStuckJobsAfter: a job still "running"
	// this long after it started — its worker died — is retried (default
	// JobTimeout + 1 minute). River's rescuer looks every 30 s, on the
	// elected leader among the clients sharing the database.
	RescueAfter time.Duration
	// FetchPollInterval is how often workers look for new jobs (River's
	// default, 1 s, when 0).
	FetchPollInterval time.Duration
	Log               *slog.Logger
}

// Queue is the River client, whichever the database.
type Queue struct {
	enqueue       func(ctx context.Context, tx *store.Tx, args LookalikeArgs) error
	start         func(ctx context.Context) error
	stop          func(ctx context.Context) error
	stopAndCancel func(ctx context.Context) error
	working       bool
}

// NewQueue makes the River client for st: riversqlite on SQLite, riverpgxv5
// on PostgreSQL. The schema must have been migrated (store.Migrate).
func NewQueue(st *store.Store, cfg QueueConfig) (*Queue, error) {
	if cfg.Workers > 0 && cfg.Runner == nil {
		return nil, errors.New("studio: a queue with workers needs a Runner")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = DefaultJobTimeout
	}
	if cfg.RescueAfter <= 0 {
		cfg.RescueAfter = cfg.JobTimeout + time.Minute
	}
	if cfg.RescueAfter < cfg.JobTimeout {
		return nil, fmt.Errorf("studio: the rescue delay (%v) must not be shorter than the job timeout (%v)", cfg.RescueAfter, cfg.JobTimeout)
	}
	rc := &river.Config{
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		FetchPollInterval:    cfg.FetchPollInterval,
		MaxAttempts:          DefaultMaxAttempts,
		Logger:               riverLogger(cfg.Log),
		Workers:              river.NewWorkers(),
	}
	river.AddWorker(rc.Workers, &lookalikeWorker{runner: cfg.Runner})
	if cfg.Workers > 0 {
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}}
	}
	q := &Queue{working: cfg.Workers > 0}
	var err error
	switch st.Dialect() {
	case store.Postgres:
		err = setup(q, riverpgxv5.New(st.Pool()), rc, func(tx *store.Tx) pgx.Tx { return tx.Pgx })
	default:
		err = setup(q, riversqlite.New(st.DB()), rc, func(tx *store.Tx) *sql.Tx { return tx.SQL })
	}
	if err != nil {
		return nil, fmt.Errorf("studio: River client: %w", err)
	}
	return q, nil
}

func setup[TTx any](q *Queue, driver riverdriver.Driver[TTx], rc *river.Config, native func(*store.Tx) TTx) error {
	c, err := river.NewClient(driver, rc)
	if err != nil {
		return err
	}
	q.enqueue = func(ctx context.Context, tx *store.Tx, args LookalikeArgs) error {
		_, err := c.InsertTx(ctx, native(tx), args, nil)
		return err
	}
	q.start = c.Start
	q.stop = c.Stop
	q.stopAndCancel = c.StopAndCancel
	return nil
}

// Enqueue inserts the River job for a job record, in the transaction that
// inserts the record (see store.CreateJob).
func (q *Queue) Enqueue(ctx context.Context, tx *store.Tx, jobID string) error {
	if err := q.enqueue(ctx, tx, LookalikeArgs{JobID: jobID}); err != nil {
		return fmt.Errorf("studio: enqueue: %w", err)
	}
	return nil
}

// Start starts the workers (and River's maintenance: leader election,
// rescuing jobs of dead workers, scheduling retries). A queue without
// workers needs no Start.
//
// River stops hard — cancelling every running job — when ctx is
// cancelled: pass a context that a stop signal does not cancel
// (context.WithoutCancel) and stop with Stop.
func (q *Queue) Start(ctx context.Context) error {
	if !q.working {
		return nil
	}
	return q.start(ctx)
}

// ErrStopCancelled is returned by Stop when jobs were still running at the
// end of the grace period and had to be cancelled (River retries them).
var ErrStopCancelled = errors.New("studio: jobs still running after the grace period were cancelled")

// Stop stops taking jobs and waits for the running ones to finish until
// ctx is done (the grace period); then it cancels those still running —
// they are retried later, here or by another worker — and waits up to 10
// s more for them to return.
func (q *Queue) Stop(ctx context.Context) error {
	if !q.working {
		return nil
	}
	err := q.stop(ctx)
	if err == nil || ctx.Err() == nil {
		return err
	}
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.stopAndCancel(cctx); err != nil {
		return err
	}
	return ErrStopCancelled
}

type lookalikeWorker struct {
	river.WorkerDefaults[LookalikeArgs]
	runner *Runner
}

func (w *lookalikeWorker) Work(ctx context.Context, job *river.Job[LookalikeArgs]) error {
	if w.runner == nil {
		return errors.New("no runner in this process")
	}
	return w.runner.Run(ctx, job.Args.JobID, job.Attempt, job.MaxAttempts)
}

// NextRetry retries soon: 1 s, 4 s, 9 s, 16 s… (the usual reason is a
// worker that died, not an overloaded service).
func (w *lookalikeWorker) NextRetry(job *river.Job[LookalikeArgs]) time.Time {
	a := max(job.Attempt, 1)
	return time.Now().Add(time.Duration(a*a) * time.Second)
}

// riverLogger keeps River's own chatter at warnings and above.
func riverLogger(l *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{l.Handler(), slog.LevelWarn}).With("component", "river")
}

type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

func (f levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{f.Handler.WithAttrs(a), f.min}
}

func (f levelFilter) WithGroup(n string) slog.Handler {
	return levelFilter{f.Handler.WithGroup(n), f.min}
}
