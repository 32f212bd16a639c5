package studio

import (
	"testing"

	"forger/store"
)

// TestStudio is a running studio for the tests outside the package (the
// browser test, which runs the real look-alike pipeline: package
// lookalike imports this one).
type TestStudio struct {
	URL string // the studio's base URL
	h   *harness
}

// NewTestStudio starts a studio on loopback: an SQLite store, an SMTP
// server that keeps what it receives, the test models ("tiny", an RGB
// 32×32 DCGAN, and "runs/cond") and two job workers running the pipeline
// that pipeline makes from the store and the data folder.
func NewTestStudio(t testing.TB, pipeline func(st *store.Store, dataDir string) Pipeline) *TestStudio {
	h := newHarness(t, harnessOptions{makePipeline: pipeline, directions: RunDirections{}})
	return &TestStudio{URL: h.srv.URL, h: h}
}

// MailedTo lists the recipients of the e-mails the studio sent.
func (s *TestStudio) MailedTo() []string {
	var to []string
	for _, m := range s.h.smtp.messages() {
		to = append(to, m.To)
	}
	return to
}
