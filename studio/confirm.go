package studio

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"forger/store"
)

// E-mail confirmation. A visitor who asks for a job's result by e-mail, at
// an address the allow-list does not name, is first sent a link
// (BaseURL/confirm?token=T, valid MailConfirmTTL, usable once); the
// result goes out only once the address's owner has used one. The link's
// page asks for a click (a POST), so that mail scanners which fetch links
// confirm nothing.

// MailConfirmTTL is how long a confirmation link may be used.
const MailConfirmTTL = 24 * time.Hour

// errNoMail is mailResult's claim refused: nothing to send.
var errNoMail = errors.New("no e-mail to send")

// mailAllowed reports whether a job's result may be mailed to email: the
// allow-list names it, or its owner has confirmed it.
func mailAllowed(ctx context.Context, st *store.Store, m *Mailer, email string) (bool, error) {
	if m.Policy.Listed(email) {
		return true, nil
	}
	return st.MailConfirmed(ctx, email)
}

// mailResult sends finished job id's e-mail, if the visitor asked for one
// and the address may have it. The e-mail is claimed in the job's record
// before it is sent, so that the runner and a confirmation link used at the
// same moment send it once; a crash between the claim and the sending
// loses that e-mail rather than sending it twice.
func mailResult(ctx context.Context, st *store.Store, m *Mailer, baseURL string, log *slog.Logger, id string) {
	if m == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	j, err := st.Job(ctx, id)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			log.Warn("reading the job to e-mail it", "err", err)
		}
		return
	}
	if j.Email == "" || !j.EmailedAt.IsZero() || !store.Finished(j.Status) {
		return
	}
	ok, err := mailAllowed(ctx, st, m, j.Email)
	if err != nil {
		log.Warn("checking the job's e-mail address", "err", err)
		return
	}
	if !ok {
		log.Info("the job's e-mail waits for its address to be confirmed")
		return
	}
	j, err = st.UpdateJob(ctx, id, func(j *store.Job) error {
		if j.Email == "" || !j.EmailedAt.IsZero() || !store.Finished(j.Status) {
			return errNoMail
		}
		j.EmailedAt = time.Now().UTC()
		return nil
	})
	if err != nil {
		if !errors.Is(err, errNoMail) && !errors.Is(err, store.ErrNotFound) {
			log.Warn("claiming the job's e-mail", "err", err)
		}
		return
	}
	if err := m.Send(j.Email, jobMailSubject(j), jobMailBody(baseURL, j)); err != nil {
		log.Warn("sending the job's e-mail", "err", err)
		if _, uerr := st.UpdateJob(ctx, id, func(j *store.Job) error { j.EmailError = err.Error(); return nil }); uerr != nil {
			log.Warn("recording the e-mail's failure", "err", uerr)
		}
	}
}

// confirmLink is the page a confirmation mail links to.
func confirmLink(baseURL, token string) string {
	return strings.TrimRight(baseURL, "/") + "/confirm?token=" + url.QueryEscape(token)
}

func confirmMailSubject() string { return "Confirm your e-mail address for forger" }

func confirmMailBody(baseURL, token string) string {
	return "Hello,\n\nsomeone, we hope you, asked the forger studio to e-mail the result of a look-alike job to this address.\n" +
		"To have it, confirm the address within " + MailConfirmTTL.String() + ":\n\n" + confirmLink(baseURL, token) +
		"\n\nIf it was not you, ignore this e-mail: without the confirmation nothing more is sent to you.\n\n-- forger\n"
}

// sendConfirmation mails a confirmation link, in the background (the
// visitor's request does not wait for the mail server).
func (s *Server) sendConfirmation(to, token, jobID string) {
	m := s.cfg.Mailer
	go func() {
		if err := m.Send(to, confirmMailSubject(), confirmMailBody(s.cfg.BaseURL, token)); err != nil {
			s.log.Warn("sending a confirmation e-mail", "job", jobID, "err", err)
		}
	}()
}

// confirmMail: POST /api/mail/confirm {"token"} → 200 {"status":
// "confirmed"}; a malformed token is a 400, an unknown one 404, one used
// before 409, an expired one 410. The job that asked for the address is
// mailed now if it has finished, else when it does.
func (s *Server) confirmMail(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Mailer == nil {
		writeError(w, http.StatusNotFound, "this server sends no e-mail")
		return
	}
	var req struct {
		Token string `json:"token"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if !store.ValidMailToken(req.Token) {
		writeError(w, http.StatusBadRequest, "this is not a confirmation link: copy the whole link from the e-mail")
		return
	}
	c, err := s.store.ConfirmMail(r.Context(), req.Token)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "unknown confirmation link (old links are deleted)")
		return
	case errors.Is(err, store.ErrTokenUsed):
		writeError(w, http.StatusConflict, "this confirmation link has been used already: the address is confirmed")
		return
	case errors.Is(err, store.ErrTokenExpired):
		writeError(w, http.StatusGone, "this confirmation link has expired: upload the photo again to have a new one")
		return
	case err != nil:
		s.log.Error("confirming an e-mail address", "err", err)
		writeError(w, http.StatusInternalServerError, "the address could not be confirmed")
		return
	}
	s.log.Info("e-mail address confirmed", "job", c.JobID)
	if store.ValidID(c.JobID) {
		mailResult(r.Context(), s.store, s.cfg.Mailer, s.cfg.BaseURL, s.log.With("job", c.JobID), c.JobID)
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "confirmed"})
}
