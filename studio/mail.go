package studio

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"

	"forger/store"
)

// Mailer sends e-mail through one SMTP server.
type Mailer struct {
	addr     string // host:port
	host     string
	from     string
	user     string
	password string
	implicit bool // smtps://: TLS from the first byte
	Timeout  time.Duration
	// Policy says which addresses visitors may ask e-mail for, how often.
	Policy MailPolicy
}

// ParseSMTPURL reads a mail server URL (forger serve --smtp): smtp://[user:password@]host[:port][?from=addr]
// (STARTTLS when the server offers it; port 25 by default) or smtps://…
// (TLS from the start; port 465). from defaults to forger@host.
func ParseSMTPURL(raw string) (*Mailer, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("studio: mail URL: %w", err)
	}
	m := &Mailer{Timeout: 30 * time.Second}
	port := "25"
	switch u.Scheme {
	case "smtp":
	case "smtps":
		m.implicit, port = true, "465"
	default:
		return nil, fmt.Errorf("studio: mail URL %q: use smtp://[user:password@]host[:port][?from=address] or smtps://…", raw)
	}
	m.host = u.Hostname()
	if m.host == "" {
		return nil, fmt.Errorf("studio: mail URL %q: no host", raw)
	}
	if p := u.Port(); p != "" {
		port = p
	}
	m.addr = net.JoinHostPort(m.host, port)
	if u.User != nil {
		m.user = u.User.Username()
		m.password, _ = u.User.Password()
	}
	m.from = u.Query().Get("from")
	if m.from == "" {
		m.from = "forger@" + m.host
	}
	if _, err := mail.ParseAddress(m.from); err != nil {
		return nil, fmt.Errorf("studio: mail URL: from=%q: %w", m.from, err)
	}
	return m, nil
}

// String describes the server (no password) for logs.
func (m *Mailer) String() string { return m.addr + " as " + m.from }

// Send sends a plain-text message to one address.
func (m *Mailer) Send(to, subject, body string) error {
	if _, err := ValidEmail(to); err != nil {
		return err
	}
	conn, err := net.DialTimeout("tcp", m.addr, m.Timeout)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	conn.SetDeadline(time.Now().Add(m.Timeout))
	if m.implicit {
		conn = tls.Client(conn, &tls.Config{ServerName: m.host})
	}
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: %w", err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if !m.implicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(&tls.Config{ServerName: m.host}); err != nil {
				return fmt.Errorf("smtp: STARTTLS: %w", err)
			}
		}
	}
	if m.user != "" {
		// PlainAuth itself refuses to send the password without TLS unless
		// the server is on this machine.
		if err := c.Auth(smtp.PlainAuth("", m.user, m.password, m.host)); err != nil {
			return fmt.Errorf("smtp: %w", err)
		}
	}
	if err := c.Mail(m.from); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	msg := buildMessage(m.from, to, subject, body)
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	return c.Quit()
}

func buildMessage(from, to, subject, body string) []byte {
	var b strings.Builder
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", from)
	hdr("To", to)
	hdr("Subject", mimeHeader(subject))
	hdr("Date", time.Now().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+randHex(12)+"@forger>")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	for _, line := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		b.WriteString(line + "\r\n")
	}
	return []byte(b.String())
}

// mimeHeader encodes a header value that is not plain ASCII.
func mimeHeader(s string) string {
	for _, r := range s {
		if r >= 0x80 || r < 0x20 {
			return mimeQ(s)
		}
	}
	return s
}

func mimeQ(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 {
			return ' '
		}
		return r
	}, s)
	return "=?utf-8?q?" + strings.NewReplacer("=", "=3D", "?", "=3F", "_", "=5F", " ", "_").Replace(qEncode(s)) + "?="
}

func qEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			fmt.Fprintf(&b, "=%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// ValidEmail checks an address a visitor typed: one plain address (no
// name, no line breaks), at most 254 characters.
func ValidEmail(s string) (string, error) {
	if len(s) > 254 || strings.ContainsAny(s, "\r\n<>,;\"") {
		return "", errors.New("not a valid e-mail address")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s, "@") {
		return "", errors.New("not a valid e-mail address")
	}
	return s, nil
}

func jobMailSubject(j *store.Job) string {
	if j.Status == store.StatusDone {
		return "Your forger look-alike is ready"
	}
	return "Your forger look-alike job failed"
}

func jobMailBody(baseURL string, j *store.Job) string {
	link := strings.TrimRight(baseURL, "/") + "/jobs/" + j.ID
	if j.Status == store.StatusDone {
		return "Hello,\n\nyour look-alike is ready: " + link + "\n\nThe photo and the results are deleted after a while.\n\n-- forger\n"
	}
	return "Hello,\n\nyour look-alike job failed: " + j.Reason + "\n\n" + link + "\n\n-- forger\n"
}
