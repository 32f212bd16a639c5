package main

// forger worker: serve's command under another name, running only the
// look-alike job workers (see serveCmd).

import (
	"context"
	"fmt"
)

// runWorker runs the look-alike job workers until ctx is cancelled, then
// stops the queue with the grace period.
func runWorker(ctx context.Context, o *serveOptions) error {
	if o.workers < 1 {
		return usagef("--workers must be at least 1 for forger worker")
	}
	log := newLogger()
	setMemoryLimit(o, log, false)
	st, pipeline, mailer, q, err := common(ctx, o, log, o.workers)
	if err != nil {
		return err
	}
	defer st.Close()
	log.Info("forger worker: running look-alike jobs",
		"workers", o.workers, "database", st.String(), "data", o.data,
		"email", yesNo(mailer != nil, fmt.Sprint(mailer), "no --smtp"), "pipeline", describePipeline(pipeline),
		"job_timeout", o.jobTimeout.String())
	if err := q.Start(context.WithoutCancel(ctx)); err != nil { // see runServe
		return fmt.Errorf("starting the job queue: %w", err)
	}
	<-ctx.Done()
	log.Info("forger worker: stopping", "grace", o.grace.String(), "running_jobs", "waiting for them to finish")
	return stopQueue(q, o.grace, log)
}
