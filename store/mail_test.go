package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"forger/store"
)

func TestMailTokens(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		tok := store.NewMailToken()
		if !store.ValidMailToken(tok) || seen[tok] {
			t.Fatalf("bad or repeated token %q", tok)
		}
		seen[tok] = true
	}
	for _, bad := range []string{"", "short", strings.Repeat("a", 42), strings.Repeat("a", 44), strings.Repeat("a", 42) + "/", strings.Repeat("a", 42) + "="} {
		if store.ValidMailToken(bad) {
			t.Errorf("ValidMailToken(%q) = true", bad)
		}
	}
}

func testMailConfirmation(t *testing.T, url string) {
	st := open(t, url)
	ctx := context.Background()
	if ok, err := st.MailConfirmed(ctx, "ada@example.com"); ok || err != nil {
		t.Fatalf("confirmed before any link: %v %v", ok, err)
	}
	// A link made inside a transaction exists once it commits.
	var tok string
	err := st.InTx(ctx, func(tx *store.Tx) (err error) {
		tok, err = st.CreateMailConfirmation(ctx, tx, " Ada@Example.com", "job1", time.Hour)
		return err
	})
	if err != nil || !store.ValidMailToken(tok) {
		t.Fatalf("token %q: %v", tok, err)
	}
	// Only the token's hash is stored.
	var n int
	if err := st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM forger_mail_confirmations").Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d rows, %v", n, err)
	}
	var hash string
	st.DB().QueryRowContext(ctx, "SELECT token_hash FROM forger_mail_confirmations").Scan(&hash)
	if hash == tok || strings.Contains(hash, tok) || len(hash) != 64 {
		t.Errorf("stored %q for token %q", hash, tok)
	}
	// Unknown and malformed tokens.
	for _, bad := range []string{store.NewMailToken(), "", "x", tok[:42], tok + "x"} {
		if _, err := st.ConfirmMail(ctx, bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ConfirmMail(%q) = %v, want ErrNotFound", bad, err)
		}
	}
	// Used at once by several clients: exactly one confirms.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var oks, used int
	for range 4 {
		wg.Go(func() {
			c, err := st.ConfirmMail(ctx, tok)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && c.Email == "ada@example.com" && c.JobID == "job1":
				oks++
			case errors.Is(err, store.ErrTokenUsed):
				used++
			default:
				t.Errorf("ConfirmMail: %+v %v", c, err)
			}
		})
	}
	wg.Wait()
	if oks != 1 || used != 3 {
		t.Errorf("%d confirmed, %d told used; want 1 and 3", oks, used)
	}
	for _, addr := range []string{"ada@example.com", "ADA@example.com"} {
		if ok, err := st.MailConfirmed(ctx, addr); !ok || err != nil {
			t.Errorf("MailConfirmed(%s) = %v %v", addr, ok, err)
		}
	}
	if ok, _ := st.MailConfirmed(ctx, "grace@example.com"); ok {
		t.Error("another address is confirmed")
	}
	// A second link for a confirmed address confirms it again.
	tok2, err := st.CreateMailConfirmation(ctx, nil, "ada@example.com", "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := st.ConfirmMail(ctx, tok2); err != nil || c.JobID != "" {
		t.Errorf("second link: %+v %v", c, err)
	}
	// An expired link confirms nothing, and is then swept away.
	old, err := st.CreateMailConfirmation(ctx, nil, "grace@example.com", "job2", time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if _, err := st.ConfirmMail(ctx, old); !errors.Is(err, store.ErrTokenExpired) {
		t.Errorf("expired link: %v", err)
	}
	if ok, _ := st.MailConfirmed(ctx, "grace@example.com"); ok {
		t.Error("an expired link confirmed its address")
	}
	if n, err := st.DeleteMailConfirmationsExpiredBefore(ctx, time.Now()); n != 1 || err != nil {
		t.Errorf("swept %d, %v; want the expired one", n, err)
	}
	if _, err := st.ConfirmMail(ctx, old); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("swept link: %v", err)
	}
	if _, err := st.CreateMailConfirmation(ctx, nil, "", "", time.Hour); err == nil {
		t.Error("a link without an address")
	}
}
