package face

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"forger/tensor"
)

// A TF.js weights manifest (model-weights_manifest.json, the format of
// tfjs.io's loadWeights and of face-api.js's models) is a list of groups;
// each group's binary shards, concatenated in order, hold its weights one
// after another, little-endian, in manifest order.
type tfjsGroup struct {
	Paths   []string         `json:"paths"`
	Weights []tfjsWeightSpec `json:"weights"`
}

type tfjsWeightSpec struct {
	Name         string            `json:"name"`
	Shape        []int             `json:"shape"`
	Dtype        string            `json:"dtype"`
	Quantization *tfjsQuantization `json:"quantization,omitempty"`
}

// tfjsQuantization: value = q·Scale + Min for uint8 and uint16; float16
// stores half-precision floats and has no scale.
type tfjsQuantization struct {
	Dtype string   `json:"dtype"`
	Scale *float64 `json:"scale"`
	Min   *float64 `json:"min"`
}

// Weights are the tensors of a TF.js model, by name. Every tensor is
// float32 (int32 and bool weights are converted), in TensorFlow's layout
// (convolution filters HWIO).
type Weights struct {
	// Names lists the weights in manifest order.
	Names []string
	// Dtypes gives each weight's declared dtype ("float32", "int32", "bool").
	Dtypes  map[string]string
	tensors map[string]*tensor.Tensor
	source  string
}

// Get returns the weight called name and checks that its shape is shape.
func (w *Weights) Get(name string, shape ...int) (*tensor.Tensor, error) {
	t, ok := w.tensors[name]
	if !ok {
		return nil, fmt.Errorf("%s: no weight %q", w.source, name)
	}
	if !tensor.SameShape(t.Shape, shape) {
		return nil, fmt.Errorf("%s: weight %q has shape %v, want %v", w.source, name, t.Shape, shape)
	}
	return t, nil
}

// Len is the number of weights.
func (w *Weights) Len() int { return len(w.Names) }

// LoadTFJS reads a TF.js weights manifest and the shards it names (paths
// relative to the manifest's folder), dequantising as TF.js does: each
// value q·scale + min computed in float64 and rounded to float32.
func LoadTFJS(manifestPath string) (*Weights, error) {
	raw, err := os.ReadFile(manifestPath)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(manifestPath)
	return ParseTFJS(raw, manifestPath, func(p string) ([]byte, error) {
		if filepath.IsAbs(p) || strings.Contains(filepath.ToSlash(p), "..") {
			return nil, fmt.Errorf("shard path %q leaves the manifest's folder", p)
		}
		return os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
	})
}

// ParseTFJS decodes a manifest whose shards readShard returns; name (the
// manifest's path) labels errors.
func ParseTFJS(manifest []byte, name string, readShard func(path string) ([]byte, error)) (*Weights, error) {
	var groups []tfjsGroup
	if err := json.Unmarshal(manifest, &groups); err != nil {
		return nil, fmt.Errorf("%s: not a TF.js weights manifest: %w", name, err)
	}
	w := &Weights{Dtypes: map[string]string{}, tensors: map[string]*tensor.Tensor{}, source: name}
	for gi, g := range groups {
		if len(g.Paths) == 0 && len(g.Weights) > 0 {
			return nil, fmt.Errorf("%s: group %d has weights but no paths", name, gi)
		}
		var buf []byte
		for _, p := range g.Paths {
			b, err := readShard(p)
			if err != nil {
				return nil, fmt.Errorf("%s: shard %s: %w", name, p, err)
			}
			buf = append(buf, b...)
		}
		off := 0
		for _, s := range g.Weights {
			if _, dup := w.tensors[s.Name]; dup {
				return nil, fmt.Errorf("%s: weight %q appears twice", name, s.Name)
			}
			n, size, err := s.sizes()
			if err != nil {
				return nil, fmt.Errorf("%s: weight %q: %w", name, s.Name, err)
			}
			if off+size > len(buf) {
				return nil, fmt.Errorf("%s: weight %q needs bytes %d..%d but the shards of group %d (%s) hold only %d: truncated file?",
					name, s.Name, off, off+size, gi, strings.Join(g.Paths, ", "), len(buf))
			}
			data, err := s.decode(buf[off:off+size], n)
			if err != nil {
				return nil, fmt.Errorf("%s: weight %q: %w", name, s.Name, err)
			}
			off += size
			shape := s.Shape
			if shape == nil {
				shape = []int{}
			}
			w.tensors[s.Name] = tensor.FromData(data, shape...)
			w.Names = append(w.Names, s.Name)
			w.Dtypes[s.Name] = s.Dtype
		}
		if off != len(buf) {
			return nil, fmt.Errorf("%s: the shards of group %d (%s) hold %d bytes, the manifest describes %d",
				name, gi, strings.Join(g.Paths, ", "), len(buf), off)
		}
	}
	return w, nil
}

var dtypeBytes = map[string]int{"float32": 4, "int32": 4, "bool": 1, "uint8": 1, "uint16": 2, "float16": 2}

// sizes returns the element count and the stored byte size of s.
func (s *tfjsWeightSpec) sizes() (n, size int, err error) {
	n = 1
	for _, d := range s.Shape {
		if d < 0 {
			return 0, 0, fmt.Errorf("negative dimension in shape %v", s.Shape)
		}
		if d > 0 && n > math.MaxInt32/d {
			return 0, 0, fmt.Errorf("shape %v is too large", s.Shape)
		}
		n *= d
	}
	switch s.Dtype {
	case "float32", "int32", "bool":
	default:
		return 0, 0, fmt.Errorf("unsupported dtype %q", s.Dtype)
	}
	per := dtypeBytes[s.Dtype]
	if q := s.Quantization; q != nil {
		switch q.Dtype {
		case "uint8", "uint16":
			if q.Scale == nil || q.Min == nil {
				return 0, 0, fmt.Errorf("%s quantization without scale and min", q.Dtype)
			}
		case "float16":
			if s.Dtype != "float32" {
				return 0, 0, fmt.Errorf("float16 quantization of %s", s.Dtype)
			}
		default:
			return 0, 0, fmt.Errorf("unsupported quantization dtype %q", q.Dtype)
		}
		if s.Dtype == "bool" {
			return 0, 0, errors.New("quantized bool")
		}
		per = dtypeBytes[q.Dtype]
	}
	return n, n * per, nil
}

// decode turns the stored bytes of s into n float32 values.
func (s *tfjsWeightSpec) decode(b []byte, n int) ([]float32, error) {
	out := make([]float32, n)
	q := s.Quantization
	switch {
	case q == nil && s.Dtype == "float32":
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case q == nil && s.Dtype == "int32":
		for i := range out {
			out[i] = float32(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case q == nil && s.Dtype == "bool":
		for i := range out {
			if b[i] != 0 {
				out[i] = 1
			}
		}
	case q.Dtype == "float16":
		for i := range out {
			out[i] = tensor.HalfToFloat(binary.LittleEndian.Uint16(b[2*i:]))
		}
	default: // uint8 or uint16 with scale and min
		scale, min := *q.Scale, *q.Min
		for i := range out {
			var v float64
			if q.Dtype == "uint8" {
				v = float64(b[i])
			} else {
				v = float64(binary.LittleEndian.Uint16(b[2*i:]))
			}
			v = v*scale + min
			if s.Dtype == "int32" {
				v = math.Floor(v + 0.5) // TF.js rounds dequantised integers (Math.round)
			}
			out[i] = float32(v)
		}
	}
	return out, nil
}
