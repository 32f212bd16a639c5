package latent

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"forger/gan"
	"forger/tensor"
)

// tinyEncoderFile writes an untrained encoder of 28×28 images, nz 2, width
// 2, and returns its bytes.
func tinyEncoderFile(t testing.TB) []byte {
	t.Helper()
	cfg := gan.Config{Arch: gan.DCGAN, Size: 28, Channels: 1, NZ: 2, NGF: 8, NDF: 8}
	e, err := NewEncoder(EncoderConfig{GAN: cfg, NZ: 2, Size: 28, Channels: 1, Width: 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "enc.safetensors")
	if err := e.Save(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// An encoder file whose config asks for a network far larger than the
// tensors it holds is refused before that network is made.
func TestLoadEncoderRefusesOversizedConfig(t *testing.T) {
	cfg := gan.Config{Arch: gan.DCGAN, Size: 28, Channels: 1, NZ: 2, NGF: 8, NDF: 8}
	e, err := NewEncoder(EncoderConfig{GAN: cfg, NZ: 2, Size: 28, Channels: 1, Width: 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		edit func(*EncoderConfig)
		want string
	}{
		{"huge nz", func(c *EncoderConfig) { c.NZ = 1 << 30 }, "nz and width"},
		{"wide", func(c *EncoderConfig) { c.Width = 1000 }, "needs"},
		{"w+ of a dcgan", func(c *EncoderConfig) { c.Space = SpaceWPlus }, "stylegan"},
		{"unknown space", func(c *EncoderConfig) { c.Space = "q" }, "unknown"},
	} {
		bad := e.Cfg
		c.edit(&bad)
		js, _ := json.Marshal(bad)
		path := filepath.Join(t.TempDir(), "enc.safetensors")
		fh, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := tensor.WriteSafetensors(fh, e.tensors(), map[string]string{"format": EncoderFormat, MetaEncoder: string(js)}); err != nil {
			t.Fatal(err)
		}
		fh.Close()
		if _, err := LoadEncoder(path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}

// LoadEncoder reads untrusted files: whatever the bytes, an encoder or an
// error, never a panic.
func FuzzLoadEncoder(f *testing.F) {
	f.Add(tinyEncoderFile(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "enc.safetensors")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		LoadEncoder(path) //nolint:errcheck // an error is a fine answer
	})
}
