package face

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeModel writes a manifest and its shards into a new folder.
func writeModel(t *testing.T, manifest string, shards map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "m-weights_manifest.json"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, b := range shards {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "m-weights_manifest.json")
}

func le32(vs ...uint32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	return b
}

const testManifest = `[
 {"paths": ["a.bin", "b.bin"], "weights": [
  {"name": "f", "shape": [2, 2], "dtype": "float32"},
  {"name": "q", "shape": [3], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": 0.1, "min": -1.3}},
  {"name": "i", "shape": [2], "dtype": "int32"},
  {"name": "q16", "shape": [2], "dtype": "float32", "quantization": {"dtype": "uint16", "scale": 0.5, "min": 1}},
  {"name": "h", "shape": [3], "dtype": "float32", "quantization": {"dtype": "float16"}},
  {"name": "qi", "shape": [1], "dtype": "int32", "quantization": {"dtype": "uint8", "scale": 0.5, "min": 0}}
 ]},
 {"paths": ["c.bin"], "weights": [{"name": "s", "shape": [], "dtype": "float32"}]}
]`

// testShards holds the values of testManifest, split across a.bin and
// b.bin in the middle of a tensor.
func testShards() map[string][]byte {
	var all []byte
	all = append(all, le32(math.Float32bits(1), math.Float32bits(-2), math.Float32bits(3.5), math.Float32bits(1e-3))...)
	all = append(all, 0, 13, 255)
	neg := int32(-7)
	all = append(all, le32(uint32(neg), 42)...)
	all = append(all, 4, 0, 0, 1)                         // uint16 4 and 256
	all = append(all, 0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00) // float16 1, -2, smallest subnormal
	all = append(all, 3)                                  // 3·0.5 = 1.5 → rounds to 2
	return map[string][]byte{"a.bin": all[:10], "b.bin": all[10:], "c.bin": le32(math.Float32bits(0.25))}
}

func TestLoadTFJS(t *testing.T) {
	w, err := LoadTFJS(writeModel(t, testManifest, testShards()))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(w.Names, ",") != "f,q,i,q16,h,qi,s" || w.Len() != 7 {
		t.Fatalf("names %v", w.Names)
	}
	want := map[string][]float32{
		"f":   {1, -2, 3.5, 1e-3},
		"q":   {float32(-1.3), float32(13*0.1 - 1.3), float32(255*0.1 - 1.3)},
		"i":   {-7, 42},
		"q16": {3, 129},
		"h":   {1, -2, float32(math.Pow(2, -24))},
		"qi":  {2},
		"s":   {0.25},
	}
	shapes := map[string][]int{"f": {2, 2}, "q": {3}, "i": {2}, "q16": {2}, "h": {3}, "qi": {1}, "s": {}}
	for name, vals := range want {
		got, err := w.Get(name, shapes[name]...)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if got.Data[i] != v {
				t.Errorf("%s = %v, want %v", name, got.Data, vals)
				break
			}
		}
	}
	if w.Dtypes["i"] != "int32" || w.Dtypes["f"] != "float32" {
		t.Errorf("dtypes %v", w.Dtypes)
	}
	// A quantised value is q·scale + min in float64, then rounded once.
	q, _ := w.Get("q", 3)
	if q.Data[1] != float32(float64(13)*0.1+(-1.3)) {
		t.Errorf("dequantisation order: %v", q.Data[1])
	}
	if _, err := w.Get("f", 4); err == nil || !strings.Contains(err.Error(), "has shape [2 2], want [4]") {
		t.Errorf("shape mismatch: %v", err)
	}
	if _, err := w.Get("nope"); err == nil || !strings.Contains(err.Error(), `no weight "nope"`) {
		t.Errorf("missing weight: %v", err)
	}
}

func TestLoadTFJSErrors(t *testing.T) {
	shards := testShards()
	truncated := map[string][]byte{"a.bin": shards["a.bin"], "b.bin": shards["b.bin"][:len(shards["b.bin"])-3], "c.bin": shards["c.bin"]}
	long := map[string][]byte{"a.bin": shards["a.bin"], "b.bin": append(append([]byte(nil), shards["b.bin"]...), 0, 0), "c.bin": shards["c.bin"]}
	noC := map[string][]byte{"a.bin": shards["a.bin"], "b.bin": shards["b.bin"]}
	for _, c := range []struct {
		name, manifest string
		shards         map[string][]byte
		want           string
	}{
		{"truncated", testManifest, truncated, "truncated file?"},
		{"too long", testManifest, long, "hold 40 bytes, the manifest describes 38"},
		{"missing shard", testManifest, noC, "shard c.bin"},
		{"not json", `{"weights": 1}`, nil, "not a TF.js weights manifest"},
		{"bad dtype", `[{"paths": ["c.bin"], "weights": [{"name": "s", "shape": [1], "dtype": "complex64"}]}]`, shards, `unsupported dtype "complex64"`},
		{"bad quantization", `[{"paths": ["c.bin"], "weights": [{"name": "s", "shape": [4], "dtype": "float32", "quantization": {"dtype": "int8", "scale": 1, "min": 0}}]}]`, shards, `unsupported quantization dtype "int8"`},
		{"no scale", `[{"paths": ["c.bin"], "weights": [{"name": "s", "shape": [4], "dtype": "float32", "quantization": {"dtype": "uint8"}}]}]`, shards, "without scale and min"},
		{"negative dim", `[{"paths": ["c.bin"], "weights": [{"name": "s", "shape": [-1], "dtype": "float32"}]}]`, shards, "negative dimension"},
		{"duplicate", `[{"paths": ["c.bin"], "weights": [{"name": "s", "shape": [], "dtype": "float32"}]}, {"paths": ["c.bin"], "weights": [{"name": "s", "shape": [], "dtype": "float32"}]}]`, shards, "appears twice"},
		{"escape", `[{"paths": ["../c.bin"], "weights": [{"name": "s", "shape": [], "dtype": "float32"}]}]`, shards, "leaves the manifest's folder"},
	} {
		_, err := LoadTFJS(writeModel(t, c.manifest, c.shards))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := LoadTFJS(filepath.Join(t.TempDir(), "none.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing manifest: %v", err)
	}
}

func TestModelsMissing(t *testing.T) {
	dir := t.TempDir()
	for _, load := range []func(string) error{
		func(d string) error { _, err := LoadDescriptorNet(d); return err },
		func(d string) error { _, err := LoadLandmarkNet(d); return err },
	} {
		err := load(dir)
		if !errors.Is(err, ErrModelsMissing) || err.Error() != "face models are missing in "+dir+": run 'forger models get face'" {
			t.Errorf("error %q", err)
		}
	}
	// A manifest of the wrong model names the first weight it lacks.
	m := `[{"paths": ["c.bin"], "weights": [{"name": "fc", "shape": [], "dtype": "float32"}]}]`
	if err := os.WriteFile(filepath.Join(dir, DescriptorManifest), []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c.bin"), le32(0), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDescriptorNet(dir); err == nil || !strings.Contains(err.Error(), `no weight "conv32_down/conv/filters"`) {
		t.Errorf("wrong model: %v", err)
	}
}
