package studio

import (
	"errors"
	"strings"
	"sync"
	"time"
)

// Who may be mailed, and how often: a Mailer's Allow list and PerDay cap,
// checked when a visitor asks for an e-mail (so a visitor cannot make the
// studio mail anyone, or anyone often). Without an allow-list an address
// gets a confirmation link first, and a job's result only once its owner
// has used one (confirm.go).

// ErrMailNotAllowed is MailPolicy.Admit's error for an address the
// allow-list does not name.
var ErrMailNotAllowed = errors.New("studio: address not on the e-mail allow-list")

// MailCapError is MailPolicy.Admit's error for an address that has had
// its e-mails for the day; Retry is when it may have one again.
type MailCapError struct {
	PerDay int
	Retry  time.Duration
}

func (e *MailCapError) Error() string { return "studio: the address has had its e-mails for today" }

// DefaultMailsPerDay is how many job e-mails one address may be sent in 24
// hours unless configured otherwise.
const DefaultMailsPerDay = 3

// MailPolicy decides which addresses a visitor may ask e-mail for.
type MailPolicy struct {
	// Allow lists the addresses that may be mailed: "ada@example.com" or
	// "@example.com" (any address there); empty: any address.
	Allow []string
	// PerDay caps the e-mails one address may be sent in 24 hours
	// (0: DefaultMailsPerDay; negative: no cap).
	PerDay int

	mu   sync.Mutex
	sent map[string][]time.Time
}

// Listed reports whether the allow-list names address to (false when
// there is no list): such an address is mailed without a confirmation
// link, the admin having vouched for it.
func (p *MailPolicy) Listed(to string) bool {
	addr := strings.ToLower(strings.TrimSpace(to))
	for _, a := range p.Allow {
		a = strings.ToLower(strings.TrimSpace(a))
		if a == addr || strings.HasPrefix(a, "@") && strings.HasSuffix(addr, a) {
			return true
		}
	}
	return false
}

// Admit checks address to (a ValidEmail) against the allow-list and the
// daily cap, and counts it when it passes.
func (p *MailPolicy) Admit(to string) error {
	addr := strings.ToLower(to)
	if len(p.Allow) > 0 && !p.Listed(addr) {
		return ErrMailNotAllowed
	}
	perDay := p.PerDay
	if perDay == 0 {
		perDay = DefaultMailsPerDay
	}
	if perDay < 0 {
		return nil
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sent == nil {
		p.sent = map[string][]time.Time{}
	}
	for k, ts := range p.sent { // forget what is older than a day
		i := 0
		for i < len(ts) && now.Sub(ts[i]) >= 24*time.Hour {
			i++
		}
		if i == len(ts) {
			delete(p.sent, k)
		} else {
			p.sent[k] = ts[i:]
		}
	}
	ts := p.sent[addr]
	if len(ts) >= perDay {
		return &MailCapError{PerDay: perDay, Retry: 24*time.Hour - now.Sub(ts[0])}
	}
	p.sent[addr] = append(ts, now)
	return nil
}
