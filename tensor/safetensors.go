package tensor

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
)

// Safetensors is the file format of Hugging Face and PyTorch users: an 8-byte
// little-endian header length, a JSON header naming each tensor's dtype,
// shape and byte range, then the raw little-endian data. forger writes F32
// tensors and keeps its own settings as string metadata ("__metadata__").
//
// The format is small and fixed, so forger implements it here rather than
// take a dependency: there is no maintained Go library for it.

// Named is a tensor with its name in a file.
type Named struct {
	Name   string
	Tensor *Tensor
}

// File is the content of a safetensors file.
type File struct {
	Tensors  map[string]*Tensor
	Names    []string // in file order
	Metadata map[string]string
}

type entry struct {
	Dtype   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// maxHeader bounds the JSON header, as the reference implementation does, so
// that a corrupt length cannot make forger allocate gigabytes.
const maxHeader = 100 << 20

// WriteSafetensors writes tensors (in the given order) and metadata to w.
func WriteSafetensors(w io.Writer, tensors []Named, meta map[string]string) error {
	header := make(map[string]any, len(tensors)+1)
	if len(meta) > 0 {
		header["__metadata__"] = meta
	}
	var off int64
	for _, nt := range tensors {
		if nt.Name == "" || nt.Name == "__metadata__" {
			return fmt.Errorf("safetensors: invalid tensor name %q", nt.Name)
		}
		if _, dup := header[nt.Name]; dup {
			return fmt.Errorf("safetensors: duplicate tensor name %q", nt.Name)
		}
		n := int64(len(nt.Tensor.Data)) * 4
		shape := nt.Tensor.Shape
		if shape == nil {
			shape = []int{}
		}
		header[nt.Name] = entry{Dtype: "F32", Shape: shape, Offsets: [2]int64{off, off + n}}
		off += n
	}
	js, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("safetensors: header: %w", err)
	}
	// Pad the header with spaces so the data starts 8-byte aligned.
	for len(js)%8 != 0 {
		js = append(js, ' ')
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(js)))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return err
	}
	if _, err := w.Write(js); err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<16)
	for _, nt := range tensors {
		for _, v := range nt.Tensor.Data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) == cap(buf) {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	_, err = w.Write(buf)
	return err
}

// ReadSafetensors reads a whole safetensors file. It accepts F32, F16, BF16
// and F64 tensors (converted to float32) and checks every offset.
func ReadSafetensors(r io.Reader) (*File, error) {
	raw, err := readHeader(r)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("safetensors: reading data: %w", err)
	}
	f := &File{Tensors: make(map[string]*Tensor, len(raw)), Metadata: map[string]string{}}
	type placed struct {
		name string
		off  int64
	}
	var order []placed
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return nil, fmt.Errorf("safetensors: metadata: %w", err)
			}
			continue
		}
		var e entry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		t, err := decodeTensor(name, e, data)
		if err != nil {
			return nil, err
		}
		f.Tensors[name] = t
		order = append(order, placed{name, e.Offsets[0]})
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].off != order[j].off {
			return order[i].off < order[j].off
		}
		return order[i].name < order[j].name
	})
	for _, p := range order {
		f.Names = append(f.Names, p.name)
	}
	return f, nil
}

// ReadSafetensorsMetadata reads only the header of a safetensors file and
// returns its string metadata (empty when it has none), so that a caller
// that needs a file's settings does not read its tensors.
func ReadSafetensorsMetadata(r io.Reader) (map[string]string, error) {
	raw, err := readHeader(r)
	if err != nil {
		return nil, err
	}
	meta := map[string]string{}
	if msg, ok := raw["__metadata__"]; ok {
		if err := json.Unmarshal(msg, &meta); err != nil {
			return nil, fmt.Errorf("safetensors: metadata: %w", err)
		}
	}
	return meta, nil
}

// readHeader reads the header length and the JSON header, size-checked
// before anything is allocated for it.
func readHeader(r io.Reader) (map[string]json.RawMessage, error) {
	var lenBuf [8]byte
	if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
		return nil, fmt.Errorf("safetensors: reading header length: %w", err)
	}
	hlen := binary.LittleEndian.Uint64(lenBuf[:])
	if hlen == 0 || hlen > maxHeader {
		return nil, fmt.Errorf("safetensors: header length %d is not plausible (not a safetensors file?)", hlen)
	}
	// io.ReadAll grows its buffer as bytes arrive, so a length that
	// promises more than the file holds costs no large allocation.
	hdr, err := io.ReadAll(io.LimitReader(r, int64(hlen)))
	if err != nil {
		return nil, fmt.Errorf("safetensors: reading header: %w", err)
	}
	if uint64(len(hdr)) < hlen {
		return nil, fmt.Errorf("safetensors: truncated header: %w", io.ErrUnexpectedEOF)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(bytes.TrimRight(hdr, " "), &raw); err != nil {
		return nil, fmt.Errorf("safetensors: header is not JSON: %w", err)
	}
	return raw, nil
}

func decodeTensor(name string, e entry, data []byte) (*Tensor, error) {
	size := map[string]int64{"F32": 4, "F16": 2, "BF16": 2, "F64": 8}[e.Dtype]
	if size == 0 {
		return nil, fmt.Errorf("safetensors: tensor %q has dtype %s; forger reads F32, F16, BF16 and F64", name, e.Dtype)
	}
	n := int64(1)
	for _, d := range e.Shape {
		if d < 0 || (d > 0 && n > math.MaxInt32/int64(d)) {
			return nil, fmt.Errorf("safetensors: tensor %q has an invalid shape %v", name, e.Shape)
		}
		n *= int64(d)
	}
	b, c := e.Offsets[0], e.Offsets[1]
	if b < 0 || c < b || c > int64(len(data)) || c-b != n*size {
		return nil, fmt.Errorf("safetensors: tensor %q: byte range [%d,%d) does not fit shape %v of %s in %d data bytes", name, b, c, e.Shape, e.Dtype, len(data))
	}
	raw := data[b:c]
	out := make([]float32, n)
	for i := range out {
		switch e.Dtype {
		case "F32":
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		case "F64":
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		case "BF16":
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16)
		case "F16":
			out[i] = HalfToFloat(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	}
	return &Tensor{Shape: append([]int{}, e.Shape...), Data: out}, nil
}

// HalfToFloat converts an IEEE 754 half-precision number (its bits) to
// float32, exactly: subnormals, infinities and NaNs included. The readers of
// half-precision files (safetensors, TF.js manifests, PyTorch checkpoints)
// share it.
func HalfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: frac·2^-24
		v := float32(frac) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// ErrMissing is wrapped by Lookup when a tensor is not in the file.
var ErrMissing = errors.New("tensor missing")

// Lookup returns the named tensor, checking its shape when want is not nil.
func (f *File) Lookup(name string, want ...int) (*Tensor, error) {
	t, ok := f.Tensors[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrMissing, name)
	}
	if want != nil && !SameShape(t.Shape, want) {
		return nil, fmt.Errorf("tensor %q has shape %v, want %v", name, t.Shape, want)
	}
	return t, nil
}
