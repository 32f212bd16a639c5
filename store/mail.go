package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// E-mail confirmation: the studio mails a visitor's address only once its
// owner has used a link sent to it. A link carries a token of 256 random
// bits; the database keeps only the token's SHA-256, so a copy of the
// database confirms nothing.

// Errors of ConfirmMail besides ErrNotFound (an unknown token).
var (
	ErrTokenExpired = errors.New("store: the confirmation link has expired")
	ErrTokenUsed    = errors.New("store: the confirmation link has been used")
)

// MailConfirmation is what a used confirmation link confirmed.
type MailConfirmation struct {
	Email string // lower-case
	JobID string // the job that asked for the address, "" for none
}

// NewMailToken returns a fresh confirmation token: 256 random bits,
// base64url without padding (43 characters).
func NewMailToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ValidMailToken reports whether s has the form of a NewMailToken token.
func ValidMailToken(s string) bool {
	if len(s) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == 32
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// NormalizeEmail is the form addresses are kept and compared in.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CreateMailConfirmation records a new confirmation link for email, asked
// for by job jobID ("" for none), valid for ttl, and returns its token —
// in tx when tx is not nil (so that it exists exactly when the job does).
func (s *Store) CreateMailConfirmation(ctx context.Context, tx *Tx, email, jobID string, ttl time.Duration) (string, error) {
	email = NormalizeEmail(email)
	if email == "" || ttl <= 0 {
		return "", errors.New("store: a confirmation needs an address and a positive lifetime")
	}
	token := NewMailToken()
	now := time.Now()
	const q = "INSERT INTO forger_mail_confirmations (token_hash, email, job_id, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, 0)"
	args := []any{tokenHash(token), email, jobID, ms(now), ms(now.Add(ttl))}
	var err error
	if tx != nil {
		err = tx.Exec(ctx, q, args...)
	} else {
		_, err = s.exec(ctx, q, args...)
	}
	if err != nil {
		return "", fmt.Errorf("store: insert mail confirmation: %w", err)
	}
	return token, nil
}

// ConfirmMail uses the confirmation link of token: once, before it
// expires. It marks the address confirmed and returns it with the job that
// asked; ErrNotFound for an unknown (or malformed) token, ErrTokenUsed for
// one used before, ErrTokenExpired for one past its time.
func (s *Store) ConfirmMail(ctx context.Context, token string) (*MailConfirmation, error) {
	if !ValidMailToken(token) {
		return nil, ErrNotFound
	}
	var out MailConfirmation
	err := s.InTx(ctx, func(tx *Tx) error {
		var expires, used int64
		err := tx.QueryRow(ctx, "SELECT email, job_id, expires_at, used_at FROM forger_mail_confirmations WHERE token_hash = ?"+s.forUpdate(),
			tokenHash(token)).Scan(&out.Email, &out.JobID, &expires, &used)
		if isNoRows(err) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("store: read mail confirmation: %w", err)
		}
		now := time.Now()
		switch {
		case used != 0:
			return ErrTokenUsed
		case ms(now) >= expires:
			return ErrTokenExpired
		}
		if err := tx.Exec(ctx, "UPDATE forger_mail_confirmations SET used_at = ? WHERE token_hash = ?", ms(now), tokenHash(token)); err != nil {
			return fmt.Errorf("store: use mail confirmation: %w", err)
		}
		err = tx.Exec(ctx, `INSERT INTO forger_mail_confirmed (email, confirmed_at) VALUES (?, ?)
			ON CONFLICT (email) DO UPDATE SET confirmed_at = excluded.confirmed_at`, out.Email, ms(now))
		if err != nil {
			return fmt.Errorf("store: confirm address: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// MailConfirmed reports whether email's owner has used a confirmation
// link.
func (s *Store) MailConfirmed(ctx context.Context, email string) (bool, error) {
	var n int
	err := s.queryRow(ctx, "SELECT COUNT(*) FROM forger_mail_confirmed WHERE email = ?", NormalizeEmail(email)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	return n > 0, nil
}

// DeleteMailConfirmationsExpiredBefore removes the confirmation links that
// expired before t (used or not) and returns how many; a link asked for
// after that is unknown rather than expired.
func (s *Store) DeleteMailConfirmationsExpiredBefore(ctx context.Context, t time.Time) (int, error) {
	res, err := s.exec(ctx, "DELETE FROM forger_mail_confirmations WHERE expires_at < ?", ms(t))
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
