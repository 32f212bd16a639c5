package tensor

import (
	"bytes"
	"encoding/binary"
	"maps"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestEnsureReusesStorage(t *testing.T) {
	a := Ensure(nil, 2, 3)
	p := &a.Data[0]
	b := Ensure(a, 3, 2)
	if &b.Data[0] != p || b.Len() != 6 {
		t.Fatal("Ensure with the same size reallocated")
	}
	c := Ensure(a, 1, 2)
	if &c.Data[0] != p || c.Len() != 2 || !SameShape(c.Shape, []int{1, 2}) {
		t.Fatal("Ensure to a smaller size did not reuse storage")
	}
	d := Ensure(a, 4, 4)
	if d.Len() != 16 {
		t.Fatal("Ensure did not grow")
	}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	a := New(2, 3, 4)
	a.FillNormal(r, 0, 1)
	b := New(5)
	b.FillNormal(r, 0, 1)
	s := New() // a scalar
	s.Data[0] = 42
	var buf bytes.Buffer
	meta := map[string]string{"arch": "dcgan", "nz": "100"}
	if err := WriteSafetensors(&buf, []Named{{"g.w", a}, {"g.b", b}, {"step", s}}, meta); err != nil {
		t.Fatal(err)
	}
	hlen := binary.LittleEndian.Uint64(buf.Bytes()[:8])
	if (8+hlen)%8 != 0 {
		t.Fatalf("data not 8-byte aligned: header %d", hlen)
	}
	f, err := ReadSafetensors(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.Names, ",") != "g.w,g.b,step" {
		t.Fatalf("names %v", f.Names)
	}
	if f.Metadata["arch"] != "dcgan" || f.Metadata["nz"] != "100" {
		t.Fatalf("metadata %v", f.Metadata)
	}
	got, err := f.Lookup("g.w", 2, 3, 4)
	if err != nil || MaxAbsDiff(got, a) != 0 {
		t.Fatalf("g.w differs: %v", err)
	}
	if _, err := f.Lookup("g.w", 3, 2, 4); err == nil {
		t.Fatal("wrong shape accepted")
	}
	if _, err := f.Lookup("nope"); err == nil {
		t.Fatal("missing tensor found")
	}
	if f.Tensors["step"].Data[0] != 42 {
		t.Fatal("scalar lost")
	}
}

// TestReadSafetensorsMetadata: the metadata comes from the header alone,
// so it reads even when the tensors after it are cut off, and a file
// without metadata gives an empty map.
func TestReadSafetensorsMetadata(t *testing.T) {
	var buf bytes.Buffer
	meta := map[string]string{"arch": "dcgan", "nz": "100"}
	if err := WriteSafetensors(&buf, []Named{{"x", New(1000)}}, meta); err != nil {
		t.Fatal(err)
	}
	hlen := binary.LittleEndian.Uint64(buf.Bytes()[:8])
	headerOnly := buf.Bytes()[:8+hlen]
	if _, err := ReadSafetensors(bytes.NewReader(headerOnly)); err == nil {
		t.Fatal("ReadSafetensors accepted a file without its tensors")
	}
	got, err := ReadSafetensorsMetadata(bytes.NewReader(headerOnly))
	if err != nil || !maps.Equal(got, meta) {
		t.Fatalf("metadata %v, %v; want %v", got, err, meta)
	}
	buf.Reset()
	if err := WriteSafetensors(&buf, []Named{{"x", New(1)}}, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadSafetensorsMetadata(&buf); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("no metadata: %v, %v; want an empty map", got, err)
	}
	if _, err := ReadSafetensorsMetadata(bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})); err == nil {
		t.Fatal("a huge header length accepted")
	}
}

func TestSafetensorsRejectsCorruptFiles(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, []Named{{"x", New(10)}}, nil); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	cases := map[string][]byte{
		"empty":          {},
		"truncated data": good[:len(good)-4],
		"huge header":    append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, good[8:]...),
		"not json":       append(append([]byte{}, good[:8]...), bytes.Repeat([]byte("x"), len(good)-8)...),
	}
	for name, data := range cases {
		if _, err := ReadSafetensors(bytes.NewReader(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestHalfToFloat(t *testing.T) {
	for h, want := range map[uint16]float32{
		0x0000: 0, 0x3c00: 1, 0xc000: -2, 0x3800: 0.5, 0x7bff: 65504, 0x3555: 0.33325195,
		0x0400: float32(math.Pow(2, -14)), 0x0001: float32(math.Pow(2, -24)), 0x8001: -float32(math.Pow(2, -24)),
	} {
		if got := HalfToFloat(h); got != want {
			t.Errorf("HalfToFloat(%#04x) = %v, want %v", h, got, want)
		}
	}
	if !math.IsInf(float64(HalfToFloat(0x7c00)), 1) || !math.IsInf(float64(HalfToFloat(0xfc00)), -1) || !math.IsNaN(float64(HalfToFloat(0x7e00))) {
		t.Error("inf/nan")
	}
	if b := math.Float32bits(HalfToFloat(0x8000)); b != 1<<31 {
		t.Errorf("negative zero: bits %#x", b)
	}
}

func TestSamplesSharesData(t *testing.T) {
	x := New(4, 2, 3)
	for i := range x.Data {
		x.Data[i] = float32(i)
	}
	s := x.Samples(1, 3)
	if got := s.Shape; len(got) != 3 || got[0] != 2 || got[1] != 2 || got[2] != 3 {
		t.Fatalf("shape %v, want [2 2 3]", got)
	}
	if s.Data[0] != 6 || s.Data[len(s.Data)-1] != 17 {
		t.Fatalf("data %v, want 6..17", s.Data)
	}
	s.Data[0] = -1
	if x.Data[6] != -1 {
		t.Fatal("a write through Samples did not reach the tensor")
	}
}
