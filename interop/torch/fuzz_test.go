package torch

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"forger/gan"
)

// FuzzLoad feeds arbitrary bytes to the checkpoint reader (zip, legacy
// stream, pickle) and to the DCGAN mapping: an error is fine, a panic or a
// huge allocation is not. Seeds: the fixtures under testdata (zip and legacy
// checkpoints) and the pickles inside the zips, bare.
//
//	go test ./interop/torch -run '^$' -fuzz '^FuzzLoad$' -fuzztime 10m -fuzzminimizetime 5s -parallel 1
//
// (-fuzzminimizetime: the seeds are checkpoints of 5–45 KB, and minimising
// each new input of that size for the default minute leaves little time to
// fuzz.)
func FuzzLoad(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*", "*.pth"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		if zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b))); err == nil {
			for _, e := range zr.File {
				if strings.HasSuffix(e.Name, "data.pkl") {
					rc, _ := e.Open()
					pkl, _ := io.ReadAll(rc)
					rc.Close()
					f.Add(pkl)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Load(data, &Options{MaxBytes: 1 << 24})
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error on two lines: %q", err)
			}
			return
		}
		sd, err := StateDict(v)
		if err != nil {
			return
		}
		g, d, err := Split(sd)
		if err != nil {
			return
		}
		for _, arch := range []string{gan.DCGAN, gan.CDCGAN} {
			ImportDCGAN(g, d, DCGANOptions{Arch: arch, Size: 64, NZ: 8})
		}
	})
}
