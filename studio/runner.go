package studio

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"forger/internal/priority"
	"forger/picture"
	"forger/store"
)

// Data folder layout (all names below it are made by the studio, never
// taken from a request):
//
//	uploads/<id>.png        the visitor's photo, re-encoded (no EXIF)
//	results/<id>/           a finished job's files (Results)
//	results/.<id>.run-<hex> one run's files until the run commits
//	gallery/<id>.png        gallery faces
const (
	uploadsDir = "uploads"
	resultsDir = "results"
	galleryDir = "gallery"
)

// Runner runs look-alike jobs: River's worker calls Run for each delivery.
type Runner struct {
	Store    *store.Store
	Pipeline Pipeline
	DataDir  string
	Mailer   *Mailer // nil: no e-mail
	BaseURL  string  // for links in e-mails, e.g. https://forger.example
	Log      *slog.Logger
	// Gate is the interactive compute the pipeline's steps yield to: the
	// pipeline's context carries it (priority.Checkpoint). nil: the
	// process's, priority.Default(), which the Server's handlers hold.
	Gate *priority.Gate
}

// errNoPipeline fails jobs picked up by a process that has no pipeline.
var errNoPipeline = errors.New("look-alike jobs are not available on this server (no face pipeline configured)")

// Run does one delivery of the job id; attempt counts River's deliveries
// from 1 and maxAttempts is River's limit. It returns nil when the job is
// finished (done, failed for good, or gone), an error for River to retry.
// It is idempotent: a job already done is left alone, and a run writes its
// files in a folder of its own that replaces the job's results folder only
// when all steps have succeeded, so any number of runs leave one set.
func (r *Runner) Run(ctx context.Context, id string, attempt, maxAttempts int) error {
	log := r.Log.With("job", id, "attempt", attempt)
	j, err := r.Store.Job(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		log.Info("job record gone (expired or deleted); nothing to do")
		return nil
	}
	if err != nil {
		return err
	}
	if store.Finished(j.Status) {
		r.removeUpload(j.Upload) // one a crash after finishing left
		r.notify(ctx, log, j)    // an e-mail lost by a crash after finishing
		return nil
	}
	if r.Pipeline == nil {
		return r.fail(ctx, log, id, errNoPipeline.Error())
	}
	if _, err := r.Store.UpdateJob(ctx, id, func(j *store.Job) error { j.Attempts++; return nil }); err != nil {
		return err
	}

	photo, err := r.loadUpload(j.Upload)
	if err != nil {
		return r.fail(ctx, log, id, "the uploaded photo could not be read")
	}
	runDir := filepath.Join(r.DataDir, resultsDir, "."+id+".run-"+randHex(6))
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(runDir) // gone after a commit (renamed) or a failure
	out := &Results{dir: runDir, entries: map[string]store.Result{}}

	// The pipeline's compute is background work: it waits at its
	// checkpoints while visitors' pictures are being made.
	gate := r.Gate
	if gate == nil {
		gate = priority.Default()
	}
	pctx := priority.NewContext(ctx, gate)
	var face *Face
	var match *Match
	err = r.step(ctx, log, id, "align", store.StatusAligning, attempt, func() (err error) {
		face, err = r.Pipeline.Align(pctx, photo, out)
		if err == nil && face == nil {
			err = errors.New("pipeline: Align returned no face")
		}
		return err
	})
	if err == nil {
		err = r.step(ctx, log, id, "match", store.StatusMatching, attempt, func() (err error) {
			match, err = r.Pipeline.Match(pctx, face, out)
			if err == nil && match == nil {
				err = errors.New("pipeline: Match returned no match")
			}
			return err
		})
	}
	if err == nil {
		err = r.step(ctx, log, id, "render", store.StatusRendering, attempt, func() error {
			return r.Pipeline.Render(pctx, face, match, out)
		})
	}
	if err != nil {
		var rej *RejectError
		switch {
		case errors.Is(err, errAlreadyFinished):
			return nil
		case errors.As(err, &rej):
			log.Info("job rejected", "reason", rej.Reason)
			return r.fail(ctx, log, id, rej.Reason)
		case attempt >= maxAttempts:
			log.Error("job failed for good", "err", err)
			return r.fail(ctx, log, id, "the job failed after "+fmt.Sprint(attempt)+" attempts: "+visitorReason(err))
		}
		log.Warn("job run failed; River will retry", "err", err)
		if _, uerr := r.Store.UpdateJob(context.WithoutCancel(ctx), id, func(j *store.Job) error {
			if !store.Finished(j.Status) {
				j.Status, j.Reason = store.StatusQueued, "retrying after "+visitorReason(err)
			}
			return nil
		}); uerr != nil {
			log.Error("recording the retry", "err", uerr)
		}
		return err
	}

	// Commit: the run's folder becomes the job's results folder, inside the
	// transaction that marks the job done, so that of runs racing each other
	// exactly one commits. An older folder (a run that committed and died
	// before its transaction did) is replaced: one set remains.
	final := filepath.Join(r.DataDir, resultsDir, id)
	j, err = r.Store.UpdateJob(context.WithoutCancel(ctx), id, func(j *store.Job) error {
		if store.Finished(j.Status) {
			return errAlreadyFinished
		}
		if err := os.RemoveAll(final); err != nil {
			return err
		}
		if err := os.Rename(runDir, final); err != nil {
			return fmt.Errorf("committing results: %w", err)
		}
		syncDir(filepath.Dir(final))
		j.Status, j.Reason, j.FinishedAt = store.StatusDone, "", time.Now().UTC()
		j.Results = out.entries
		return nil
	})
	if errors.Is(err, errAlreadyFinished) {
		return nil
	}
	if err != nil {
		return err
	}
	r.removeStaleRuns(id)
	r.removeUpload(j.Upload)
	log.Info("job done", "results", strings.Join(out.Keys(), ","))
	r.notify(ctx, log, j)
	return nil
}

// step runs one pipeline step under status, recording its times (and,
// for the visitor, a sentence for its error; the log has the error).
func (r *Runner) step(ctx context.Context, log *slog.Logger, id, name, status string, attempt int, run func() error) error {
	start := time.Now().UTC()
	if _, err := r.Store.UpdateJob(ctx, id, func(j *store.Job) error {
		if store.Finished(j.Status) {
			return errAlreadyFinished
		}
		j.Status = status
		j.Steps[name] = store.Step{Started: start, Attempt: attempt}
		return nil
	}); err != nil {
		return err
	}
	err := run()
	if err == nil {
		err = ctx.Err()
	}
	if err != nil && !errors.Is(err, errAlreadyFinished) {
		log.Warn("job step failed", "step", name, "err", err)
	}
	end := time.Now().UTC()
	if _, uerr := r.Store.UpdateJob(context.WithoutCancel(ctx), id, func(j *store.Job) error {
		st := store.Step{Started: start, Finished: end, MS: end.Sub(start).Milliseconds(), Attempt: attempt}
		if err != nil {
			st.Error = visitorReason(err)
		}
		j.Steps[name] = st
		return nil
	}); uerr != nil && err == nil {
		err = uerr
	}
	return err
}

var errAlreadyFinished = errors.New("job already finished by another run")

// visitorReason is what a visitor is told of a run's error: a rejection's
// own sentence, else a sentence that gives nothing of the server away —
// the internal error goes to the log, under the job's id.
func visitorReason(err error) string {
	var rej *RejectError
	switch {
	case errors.As(err, &rej):
		return rej.Reason
	case errors.Is(err, context.DeadlineExceeded):
		return "the job took too long"
	case errors.Is(err, context.Canceled):
		return "the server was interrupted"
	case errors.Is(err, errNoPipeline):
		return errNoPipeline.Error()
	}
	return "an internal error (the server's log has it under this job's id)"
}

// fail marks the job failed with reason and e-mails the visitor. It
// returns nil: the job is finished and River must not retry it.
func (r *Runner) fail(ctx context.Context, log *slog.Logger, id, reason string) error {
	j, err := r.Store.UpdateJob(context.WithoutCancel(ctx), id, func(j *store.Job) error {
		if store.Finished(j.Status) {
			return nil
		}
		j.Status, j.Reason, j.FinishedAt = store.StatusFailed, reason, time.Now().UTC()
		return nil
	})
	if err != nil {
		return err
	}
	r.removeUpload(j.Upload)
	r.notify(ctx, log, j)
	return nil
}

// notify sends the finished job's e-mail once, if one was asked for and
// the address may have it (see mailResult).
func (r *Runner) notify(ctx context.Context, log *slog.Logger, j *store.Job) {
	mailResult(ctx, r.Store, r.Mailer, r.BaseURL, log, j.ID)
}

func (r *Runner) loadUpload(name string) (image.Image, error) {
	if !validUploadName(name) {
		return nil, fmt.Errorf("bad upload name %q", name)
	}
	// The studio wrote it (decodePhoto's result, upright, at most
	// StoredMaxSide a side); the limits still hold should it be replaced.
	return picture.Load(filepath.Join(r.DataDir, uploadsDir, name), picture.Limits{MaxPixels: MaxPixels})
}

// removeUpload deletes a finished job's photo: its results (the aligned
// face among them) stay until --retention, the photo is not needed again.
func (r *Runner) removeUpload(name string) {
	if validUploadName(name) {
		os.Remove(filepath.Join(r.DataDir, uploadsDir, name))
	}
}

// validUploadName accepts only the names the studio gives uploads.
func validUploadName(name string) bool {
	id, ok := strings.CutSuffix(name, ".png")
	return ok && store.ValidID(id)
}

// removeStaleRuns deletes run folders of job id left by dead runs.
func (r *Runner) removeStaleRuns(id string) {
	dirs, _ := filepath.Glob(filepath.Join(r.DataDir, resultsDir, "."+id+".run-*"))
	for _, d := range dirs {
		os.RemoveAll(d)
	}
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
