package studio

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"forger/latent"
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

// TestMail is one e-mail the studio sent.
type TestMail struct {
	To, Subject string
	Data        string // headers and body, as sent
}

// Mails lists the e-mails the studio sent, in order.
func (s *TestStudio) Mails() []TestMail {
	var out []TestMail
	for _, m := range s.h.smtp.messages() {
		tm := TestMail{To: m.To, Data: m.Data}
		for _, line := range strings.Split(m.Data, "\r\n") {
			if v, ok := strings.CutPrefix(line, "Subject: "); ok {
				tm.Subject = v
				break
			}
		}
		out = append(out, tm)
	}
	return out
}

// ConfirmPath is the path (on the test studio) of the confirmation link in
// an e-mail the studio sent, "" when it has none.
func ConfirmPath(mail string) string {
	i := strings.Index(mail, "http://studio.test/confirm?token=")
	if i < 0 {
		return ""
	}
	rest := mail[i+len("http://studio.test"):]
	if j := strings.IndexAny(rest, "\r\n"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// AddStyleGAN puts a tiny untrained stylegan (8×8, z of 8, w of 12, its
// w_avg not 0) in the models folder as the run name, with a learned
// direction "smile" in W, and rescans the folder.
func (s *TestStudio) AddStyleGAN(t *testing.T, name string) {
	t.Helper()
	run := filepath.Join(s.h.s.cfg.ModelsDir, name)
	saveStyleGAN(t, filepath.Join(run, "checkpoints", "style.safetensors"))
	w := make([]float64, 12)
	w[0] = 1
	if err := os.MkdirAll(filepath.Join(run, "directions"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := (&latent.Direction{Attribute: "smile", Direction: w, Space: latent.SpaceW, Scale: 2}).Write(filepath.Join(run, "directions", "smile.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.h.s.models.scan(); err != nil {
		t.Fatal(err)
	}
}
