package loadtest

// The studio process a soak starts itself (SoakOptions.Server), kills with
// SIGKILL and stops with SIGTERM in the middle, and starts again; and the
// windows in which it was down, so that the requests they cut are counted
// apart from the server's own errors.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// SoakEvent is something the soak did to the server.
type SoakEvent struct {
	Seconds float64 `json:"seconds"` // since the traffic began (the first start is before it)
	What    string  `json:"what"`    // "started", "kill -9", "SIGTERM", "exited", "ready"
	PID     int     `json:"pid,omitempty"`
	// Detail: for "exited", how the process ended and how long it took
	// after the signal; for "ready", how long after the start /healthz
	// answered.
	Detail string `json:"detail,omitempty"`
}

// soakServer runs the studio's process.
type soakServer struct {
	argv []string
	logw io.Writer

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	state  *os.ProcessState
}

func (p *soakServer) start() (int, error) {
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Stdout, cmd.Stderr = p.logw, p.logw
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("soak: starting the server: %w", err)
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.exited, p.state = cmd, exited, nil
	p.mu.Unlock()
	go func() {
		cmd.Wait()
		p.mu.Lock()
		p.state = cmd.ProcessState
		p.mu.Unlock()
		close(exited)
	}()
	return cmd.Process.Pid, nil
}

// pid is the running server's process id, 0 when it is not running.
func (p *soakServer) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.state != nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// stop sends sig and waits up to wait for the process to end (then kills
// it); it says how the process ended.
func (p *soakServer) stop(sig syscall.Signal, wait time.Duration) string {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return "not running"
	}
	start := time.Now()
	cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(wait):
		cmd.Process.Kill()
		<-exited
		return fmt.Sprintf("still running %v after %v: killed", wait, sig)
	}
	p.mu.Lock()
	st := p.state
	p.mu.Unlock()
	return fmt.Sprintf("%v after %.1f s", st, time.Since(start).Seconds())
}

// waitHealthy polls base/healthz until it answers 200, ctx is done or
// timeout passes.
func waitHealthy(ctx context.Context, client *http.Client, base string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		if res, err := client.Do(req); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return errors.New("soak: the server did not answer /healthz within " + timeout.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// downWindows are the spans in which the server was down: from the signal
// until /healthz answered again.
type downWindows struct {
	mu sync.Mutex
	w  [][2]time.Time // end zero: still down
}

func (d *downWindows) begin() {
	d.mu.Lock()
	d.w = append(d.w, [2]time.Time{time.Now()})
	d.mu.Unlock()
}

func (d *downWindows) end() {
	d.mu.Lock()
	if n := len(d.w); n > 0 && d.w[n-1][1].IsZero() {
		d.w[n-1][1] = time.Now()
	}
	d.mu.Unlock()
}

// overlaps reports whether [from, to] meets a down window.
func (d *downWindows) overlaps(from, to time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range d.w {
		end := w[1]
		if end.IsZero() { // still down
			end = to
		}
		if !from.After(end) && !to.Before(w[0]) {
			return true
		}
	}
	return false
}
