package studio

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// slowUpload opens a connection to the studio and starts a photo upload
// that it never finishes: headers, the form's start, half the photo.
func slowUpload(t *testing.T, base, path string, photo []byte) net.Conn {
	t.Helper()
	u, _ := url.Parse(base)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("photo", "p.jpg")
	fw.Write(photo)
	mw.Close()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", path, u.Host, mw.FormDataContentType(), body.Len())
	c.Write(body.Bytes()[:body.Len()/2])
	return c
}

// Two clients trickling uploads in — more than the server's decoding
// slots — do not hold up anyone else's upload, the admin's gallery
// included: a photo is read before a slot is taken.
func TestSlowUploadsHoldNoDecodeSlot(t *testing.T) {
	h := newHarness(t, harnessOptions{admin: "a-long-enough-admin-token"})
	photo := photoJPEG(t, 200, 150, 0)
	for range cap(h.s.decodes) + 1 {
		slowUpload(t, h.srv.URL, "/api/jobs", photo)
	}
	time.Sleep(200 * time.Millisecond) // the slow uploads' handlers are reading
	done := make(chan int, 1)
	go func() {
		status, _ := h.upload("/api/jobs", photo)
		done <- status
	}()
	select {
	case status := <-done:
		if status != 201 {
			t.Errorf("upload beside slow ones: %d", status)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an upload waited more than 5 s behind slow uploads")
	}
}

// An upload whose client has gone by the time a decoding slot is free is
// neither decoded nor stored nor queued.
func TestUploadOfGoneClientIsDropped(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	for range cap(h.s.decodes) { // every slot busy
		h.s.decodes <- struct{}{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("photo", "p.jpg")
	fw.Write(photoJPEG(t, 60, 40, 0))
	mw.Close()
	req, _ := http.NewRequestWithContext(ctx, "POST", h.srv.URL+"/api/jobs", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	errc := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			var e apiError
			json.NewDecoder(res.Body).Decode(&e)
			res.Body.Close()
			err = fmt.Errorf("answered %d %q", res.StatusCode, e.Error)
		}
		errc <- err
	}()
	time.Sleep(300 * time.Millisecond)
	cancel()
	<-errc
	time.Sleep(100 * time.Millisecond)
	for range cap(h.s.decodes) {
		<-h.s.decodes
	}
	time.Sleep(200 * time.Millisecond)
	if entries, _ := os.ReadDir(filepath.Join(h.data, uploadsDir)); len(entries) != 0 {
		t.Errorf("uploads stored for a client that left: %d", len(entries))
	}
}

// A slow upload still under way when the server stops is cut off at the
// end of the shutdown wait, and the stop is no failure: Serve returns nil
// (forger serve exits 0 after SIGTERM).
func TestServeStopsDespiteSlowUpload(t *testing.T) {
	h := newHarness(t, harnessOptions{noPipeline: true})
	h.s.shutdownWait = 300 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- h.s.Serve(ctx, ln) }()
	c := slowUpload(t, "http://"+ln.Addr().String(), "/api/jobs", photoJPEG(t, 200, 150, 0))
	time.Sleep(200 * time.Millisecond) // the handler is reading the body
	start := time.Now()
	stop()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve after a stop with a slow upload under way: %v", err)
		}
		if d := time.Since(start); d < 250*time.Millisecond {
			t.Errorf("stopped after %v: the upload under way had no time", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return 10 s after its context ended")
	}
	// The slow client's connection is closed.
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1024)); err == nil {
		t.Error("the slow upload's connection still open")
	}
}
