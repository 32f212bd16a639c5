package studio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"forger/store"
)

// pendingJobs keeps, per client address, the look-alike jobs this server
// queued for it that may not have finished, to cap them
// (Config.MaxQueuedPerAddress).
type pendingJobs struct {
	mu    sync.Mutex
	by    map[string]*addrJobs
	swept time.Time
}

// pendingForget is how long a queued job counts against its address: a
// job not finished an hour later no longer does (the total cap still
// holds), so that what is kept per address stays small.
const pendingForget = time.Hour

type addrJobs struct {
	ids      []pendingJob
	reserved int // requests between the check and the insert
}

type pendingJob struct {
	id string
	at time.Time
}

func newPendingJobs() *pendingJobs { return &pendingJobs{by: map[string]*addrJobs{}} }

// reserve makes a place for one more job of addr if it has fewer than max
// unfinished ones; finished reports whether a job is finished (or gone).
// Jobs older than forget are no longer counted. A true result must be
// followed by settle.
func (p *pendingJobs) reserve(addr string, max int, forget time.Duration, finished func(id string) bool) bool {
	p.mu.Lock()
	var ids []pendingJob
	if a := p.by[addr]; a != nil {
		ids = append(ids, a.ids...)
	}
	p.mu.Unlock()
	done := map[string]bool{}
	for _, j := range ids { // outside the lock: these ask the database
		if time.Since(j.at) > forget || finished(j.id) {
			done[j.id] = true
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if now := time.Now(); now.Sub(p.swept) > time.Minute { // forget idle addresses
		for k, a := range p.by {
			if a.reserved <= 0 && (len(a.ids) == 0 || now.Sub(a.ids[len(a.ids)-1].at) > forget) {
				delete(p.by, k)
			}
		}
		p.swept = now
	}
	a := p.by[addr]
	if a == nil {
		a = &addrJobs{}
		p.by[addr] = a
	}
	kept := a.ids[:0]
	for _, j := range a.ids {
		if !done[j.id] {
			kept = append(kept, j)
		}
	}
	a.ids = kept
	if len(a.ids)+a.reserved >= max {
		return false
	}
	a.reserved++
	return true
}

// settle ends a reservation of addr: id is the job queued, "" for none.
func (p *pendingJobs) settle(addr, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now := time.Now(); now.Sub(p.swept) > time.Minute { // forget idle addresses
		for k, a := range p.by {
			if a.reserved <= 0 && (len(a.ids) == 0 || now.Sub(a.ids[len(a.ids)-1].at) > pendingForget) {
				delete(p.by, k)
			}
		}
		p.swept = now
	}
	a := p.by[addr]
	if a == nil {
		return
	}
	a.reserved--
	if id != "" {
		a.ids = append(a.ids, pendingJob{id, time.Now()})
	}
	if len(a.ids) == 0 && a.reserved <= 0 {
		delete(p.by, addr)
	}
}

// jobFinished reports whether job id is finished or gone; a store error
// counts as not finished (the cap errs on the side of refusing).
func (s *Server) jobFinished(ctx context.Context, id string) bool {
	j, err := s.store.Job(ctx, id)
	if err != nil {
		return errors.Is(err, store.ErrNotFound)
	}
	return store.Finished(j.Status)
}

// unfinishedJobs counts the job records not finished, of every server
// sharing the database.
func (s *Server) unfinishedJobs(ctx context.Context) (int, error) {
	counts, err := s.store.CountJobs(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for status, c := range counts {
		if !store.Finished(status) {
			n += c
		}
	}
	return n, nil
}

// Retry-After of the queue caps: a job takes seconds to a minute.
const (
	queueFullRetry  = 60 * time.Second
	addressCapRetry = 30 * time.Second
)

// admitJob applies the job limits to a new job of r's client: its rate,
// the total queue and the address's unfinished jobs. It answers 429 and
// returns ok false when one refuses; otherwise the caller must call
// done with the queued job's id ("" if it queued none).
func (s *Server) admitJob(w http.ResponseWriter, r *http.Request) (done func(id string), ok bool) {
	addr := s.clientAddr(r)
	if ok, wait := s.jobs.allow(addr, 1); !ok {
		tooMany(w, wait, "too many look-alike jobs from your address: try again in %d s")
		return nil, false
	}
	if s.cfg.MaxQueued > 0 {
		n, err := s.unfinishedJobs(r.Context())
		if err != nil {
			s.log.Error("counting queued jobs", "err", err)
			writeError(w, http.StatusServiceUnavailable, "the job queue cannot be read now")
			return nil, false
		}
		if n >= s.cfg.MaxQueued {
			tooMany(w, queueFullRetry, "the look-alike queue is full: try again in %d s")
			return nil, false
		}
	}
	if s.cfg.MaxQueuedPerAddress <= 0 {
		return func(string) {}, true
	}
	finished := func(id string) bool { return s.jobFinished(r.Context(), id) }
	if !s.pending.reserve(addr, s.cfg.MaxQueuedPerAddress, pendingForget, finished) {
		tooMany(w, addressCapRetry, fmt.Sprintf("your address already has %d look-alike jobs waiting or running, the most it may have: try again when one is done (in about %%d s)", s.cfg.MaxQueuedPerAddress))
		return nil, false
	}
	return func(id string) { s.pending.settle(addr, id) }, true
}
