package loadtest

// The look-alike jobs of a soak: polled as the job page polls them, waited
// for at the end, and checked in the server's database — every job created
// finished, once.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"time"

	"forger/store"
	"forger/studio"
)

// SoakJobs is what became of a soak's look-alike jobs.
type SoakJobs struct {
	Created int `json:"created"` // uploads answered 201
	Done    int `json:"done"`
	Failed  int `json:"failed"`
	// FailReasons counts the failed jobs' reasons (a photo without a
	// face fails by design).
	FailReasons map[string]int `json:"fail_reasons,omitempty"`
	// Retried counts the jobs run more than once (attempts > 1): runs cut
	// by a restart and retried, which is not duplication.
	Retried int `json:"retried"`
	// Lost lists the jobs created (a 201) that, after the drain, are gone
	// or not finished.
	Lost         []string `json:"lost"`
	DrainSeconds float64  `json:"drain_seconds"`
	// The database check (SoakOptions.DB, or forger.db in DataDir): the
	// job records created during the soak — those whose 201 a restart
	// cut off too — and, of them, the ones not finished after the drain,
	// those with more than one River job (Duplicated), those with no
	// River job (NotQueued) and those whose cut run left its folder.
	CheckedDB      bool     `json:"checked_db"`
	Records        int      `json:"records"`
	Unfinished     []string `json:"unfinished"`
	Duplicated     []string `json:"duplicated"`
	NotQueued      []string `json:"not_queued"`
	RunFoldersLeft []string `json:"run_folders_left"`
	DBError        string   `json:"db_error,omitempty"`
}

type soakJob struct {
	status   string
	reason   string
	attempts int
	next     time.Time     // next poll
	delay    time.Duration // between polls: 1 s, growing to 4 s as the job page's
}

func finished(status string) bool { return status == store.StatusDone || status == store.StatusFailed }

// addJob starts following a job created by an upload.
func (s *soak) addJob(id string) {
	s.mu.Lock()
	s.jobs[id] = &soakJob{status: store.StatusQueued, next: time.Now().Add(time.Second), delay: time.Second}
	s.mu.Unlock()
}

// dueJobs lists the unfinished jobs to poll now (all of them when all).
func (s *soak) dueJobs(all bool) []string {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id, j := range s.jobs {
		if !finished(j.status) && (all || !now.Before(j.next)) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// pollJob asks for a job's state once; record says whether the request
// counts among the soak's (the drain's polls do not).
func (s *soak) pollJob(ctx context.Context, id string, record bool) {
	var j struct {
		Status   string `json:"status"`
		Reason   string `json:"reason"`
		Attempts int    `json:"attempts"`
	}
	path := "/api/jobs/" + url.PathEscape(id)
	var b []byte
	status := 0
	if record {
		b, status = s.get(ctx, KindPoll, path)
	} else {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
		status, b, _ = s.do(req)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sj := s.jobs[id]
	sj.delay = min(time.Duration(float64(sj.delay)*1.2), 4*time.Second)
	sj.next = time.Now().Add(sj.delay)
	switch {
	case status == http.StatusNotFound:
		sj.status = "gone"
	case status == http.StatusOK && json.Unmarshal(b, &j) == nil && j.Status != "":
		sj.status, sj.reason, sj.attempts = j.Status, j.Reason, j.Attempts
	}
}

// pollJobs polls each unfinished job when it is due, until ctx is done.
func (s *soak) pollJobs(ctx context.Context) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, id := range s.dueJobs(false) {
			if ctx.Err() != nil {
				return
			}
			s.pollJob(ctx, id, true)
		}
	}
}

// drainJobs polls the unfinished jobs every second until all have
// finished or timeout has passed.
func (s *soak) drainJobs(ctx context.Context, timeout time.Duration) time.Duration {
	start := time.Now()
	for {
		ids := s.dueJobs(true)
		if len(ids) == 0 || time.Since(start) > timeout || ctx.Err() != nil {
			return time.Since(start)
		}
		for _, id := range ids {
			s.pollJob(ctx, id, false)
		}
		time.Sleep(time.Second)
	}
}

// jobReport sums up the jobs the soak followed.
func (s *soak) jobReport() SoakJobs {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := SoakJobs{Created: len(s.jobs), FailReasons: map[string]int{}, Lost: []string{},
		Unfinished: []string{}, Duplicated: []string{}, NotQueued: []string{}, RunFoldersLeft: []string{}}
	for id, j := range s.jobs {
		switch j.status {
		case store.StatusDone:
			r.Done++
		case store.StatusFailed:
			r.Failed++
			r.FailReasons[j.reason]++
		default:
			r.Lost = append(r.Lost, id)
		}
		if j.attempts > 1 {
			r.Retried++
		}
	}
	sort.Strings(r.Lost)
	return r
}

// checkJobsDB looks in the server's database at the job records created
// since since: each finished, with one River job, and no run folder left.
func checkJobsDB(ctx context.Context, dbURL, dataDir string, since time.Time, r *SoakJobs) error {
	st, err := store.Open(ctx, dbURL, dataDir, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	ph, jobID := "?", "json_extract(args, '$.job_id')"
	if st.Dialect() == store.Postgres {
		ph, jobID = "$1", "args->>'job_id'"
	}
	rows, err := st.DB().QueryContext(ctx, "SELECT id, status FROM forger_jobs WHERE created_at >= "+ph, since.UnixMilli())
	if err != nil {
		return fmt.Errorf("soak: reading the job records: %w", err)
	}
	status := map[string]string{}
	for rows.Next() {
		var id, st string
		if err := rows.Scan(&id, &st); err != nil {
			rows.Close()
			return err
		}
		status[id] = st
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	river := map[string]int{}
	rows, err = st.DB().QueryContext(ctx, "SELECT "+jobID+", COUNT(*) FROM river_job WHERE kind = '"+studio.LookalikeArgs{}.Kind()+"' GROUP BY 1")
	if err != nil {
		return fmt.Errorf("soak: reading River's jobs: %w", err)
	}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return err
		}
		river[id] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	r.CheckedDB, r.Records = true, len(status)
	for id, st := range status {
		if !finished(st) {
			r.Unfinished = append(r.Unfinished, id)
		}
		switch n := river[id]; {
		case n == 0:
			r.NotQueued = append(r.NotQueued, id)
		case n > 1:
			r.Duplicated = append(r.Duplicated, id)
		}
		if dataDir != "" {
			if left, _ := filepath.Glob(filepath.Join(dataDir, "results", "."+id+".run-*")); len(left) > 0 {
				r.RunFoldersLeft = append(r.RunFoldersLeft, id)
			}
		}
	}
	sort.Strings(r.Unfinished)
	sort.Strings(r.Duplicated)
	sort.Strings(r.NotQueued)
	sort.Strings(r.RunFoldersLeft)
	return nil
}
