package tensor

import (
	"bytes"
	"encoding/binary"
	"maps"
	"runtime"
	"testing"
)

// fuzzSeeds are safetensors files of every dtype forger reads, written by
// WriteSafetensors or by hand.
func fuzzSeeds(t testing.TB) [][]byte {
	var b bytes.Buffer
	err := WriteSafetensors(&b, []Named{
		{"a", FromData([]float32{1, -2, 3.5, 0}, 2, 2)},
		{"scalar", FromData([]float32{7})},
		{"empty", FromData([]float32{}, 0, 3)},
	}, map[string]string{"forger.config": `{"arch":"dcgan"}`})
	if err != nil {
		t.Fatal(err)
	}
	seeds := [][]byte{b.Bytes()}
	for _, h := range []struct {
		json string
		data []byte
	}{
		{`{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, []byte{0x00, 0x3c, 0x01, 0x80}},
		{`{"b":{"dtype":"BF16","shape":[1,1],"data_offsets":[0,2]}}`, []byte{0x80, 0x3f}},
		{`{"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"__metadata__":{"k":"v"}}`, binary.LittleEndian.AppendUint64(nil, 0x3ff0000000000000)},
		{`{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)},
		{`{"x":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}`, []byte{1}},
	} {
		f := binary.LittleEndian.AppendUint64(nil, uint64(len(h.json)))
		seeds = append(seeds, append(append(f, h.json...), h.data...))
	}
	return seeds
}

// FuzzReadSafetensors: whatever the bytes, ReadSafetensors returns a file
// or an error, never panics, and a file it returns writes and reads back
// to the same tensors.
func FuzzReadSafetensors(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ReadSafetensors(bytes.NewReader(data))
		if err != nil {
			return
		}
		if meta, err := ReadSafetensorsMetadata(bytes.NewReader(data)); err != nil || !maps.Equal(meta, file.Metadata) {
			t.Fatalf("metadata alone: %v, %v; the whole file's: %v", meta, err, file.Metadata)
		}
		var named []Named
		for _, name := range file.Names {
			tt := file.Tensors[name]
			n := 1
			for _, d := range tt.Shape {
				n *= d
			}
			if n != len(tt.Data) {
				t.Fatalf("tensor %q: shape %v for %d values", name, tt.Shape, len(tt.Data))
			}
			named = append(named, Named{name, tt})
		}
		if len(file.Names) != len(file.Tensors) {
			t.Fatalf("%d names for %d tensors", len(file.Names), len(file.Tensors))
		}
		var b bytes.Buffer
		if err := WriteSafetensors(&b, named, file.Metadata); err != nil {
			return // a name WriteSafetensors refuses ("" for one)
		}
		again, err := ReadSafetensors(&b)
		if err != nil {
			t.Fatalf("re-reading what was written: %v", err)
		}
		for _, name := range file.Names {
			if !SameShape(again.Tensors[name].Shape, file.Tensors[name].Shape) {
				t.Fatalf("tensor %q: shape %v after a round trip, was %v", name, again.Tensors[name].Shape, file.Tensors[name].Shape)
			}
		}
	})
}

// A file that announces a 100 MB header but holds 8 bytes is refused
// without allocating the 100 MB first.
func TestReadSafetensorsShortHeaderAllocates(t *testing.T) {
	data := binary.LittleEndian.AppendUint64(nil, maxHeader)
	data = append(data, "{}"...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := ReadSafetensors(bytes.NewReader(data)); err == nil {
		t.Fatal("a truncated header was accepted")
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 10<<20 {
		t.Errorf("reading a 10-byte file allocated %d MB", grew>>20)
	}
}
