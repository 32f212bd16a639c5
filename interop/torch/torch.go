// Package torch reads PyTorch checkpoints — what torch.save writes — without
// Python: the zip format (PyTorch 1.6 and later: <name>/data.pkl, the
// storages as <name>/data/<key>, <name>/byteorder) and the legacy stream
// format (torch.save(..., _use_new_zipfile_serialization=False), and the
// bytes inside NVIDIA's network pickles, torch.storage._load_from_bytes).
// The older tar format (PyTorch before 0.4) is refused with a sentence.
//
// Tensors come out as *Tensor (float32 values, whatever the stored dtype);
// everything else as package pickle's values. StateDict flattens what a
// checkpoint holds into named tensors.
package torch

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"strings"

	"forger/interop/pickle"
	"forger/tensor"
)

// Tensor is a tensor read from a checkpoint, made contiguous, its values
// converted to float32 (integers too: num_batches_tracked and such).
type Tensor struct {
	Dtype string // the stored type: "float32", "float16", "int64", …
	Shape []int
	Data  []float32
}

// Numel is the number of elements.
func (t *Tensor) Numel() int { return len(t.Data) }

// Storage is a flat typed buffer that tensors view.
type Storage struct {
	Dtype string
	Numel int
	raw   []byte // little-endian, Numel elements
}

type dtypeInfo struct {
	name string
	size int
}

var storageTypes = map[string]dtypeInfo{
	"FloatStorage":    {"float32", 4},
	"DoubleStorage":   {"float64", 8},
	"HalfStorage":     {"float16", 2},
	"BFloat16Storage": {"bfloat16", 2},
	"LongStorage":     {"int64", 8},
	"IntStorage":      {"int32", 4},
	"ShortStorage":    {"int16", 2},
	"CharStorage":     {"int8", 1},
	"ByteStorage":     {"uint8", 1},
	"BoolStorage":     {"bool", 1},
}

// Options bound what a checkpoint may make the reader hold.
type Options struct {
	// MaxBytes bounds the storages' bytes in all (default 8 GiB).
	MaxBytes int64
}

// ErrFormat is wrapped by every error about a file that is not a checkpoint
// this package can read.
var ErrFormat = errors.New("not a readable PyTorch checkpoint")

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// LoadFile reads a checkpoint file.
func LoadFile(name string, opts *Options) (any, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return Load(data, opts)
}

// Load reads a checkpoint from its bytes.
func Load(data []byte, opts *Options) (any, error) {
	l := &loader{max: 8 << 30}
	if opts != nil && opts.MaxBytes > 0 {
		l.max = opts.MaxBytes
	}
	return l.load(data, 0)
}

type loader struct {
	max, used int64
	pending   []*deferred // tensors of storages whose bytes come later (legacy)
}

func (l *loader) load(data []byte, depth int) (any, error) {
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return l.loadZip(data, depth)
	case len(data) >= 262 && string(data[257:262]) == "ustar":
		return nil, formatErr("this is a tar checkpoint, written by PyTorch before 0.4 (2018); load it and save it again with a current PyTorch")
	case len(data) >= 2 && data[0] == 0x80:
		return l.loadLegacy(data, depth)
	}
	return nil, formatErr("neither a zip nor a legacy torch.save file (it starts with % x)", data[:min(len(data), 4)])
}

// charge counts n storage bytes against the budget.
func (l *loader) charge(n int64) error {
	if n < 0 || n > l.max-l.used {
		return formatErr("its storages hold more than %d bytes", l.max)
	}
	l.used += n
	return nil
}

// LoadPickle reads a plain pickle (pickle.dump, not torch.save) whose
// tensors pickle themselves: torch._utils._rebuild_tensor_v2 (through
// torch._tensor._rebuild_from_type_v2) of storages that are
// torch.storage._load_from_bytes of a legacy torch.save stream. That is how
// NVIDIA's stylegan2-ada-pytorch and stylegan3 network pickles hold their
// weights; their classes (torch_utils.persistence's) stay *pickle.Object
// values whose State holds the module's attributes.
func LoadPickle(data []byte, opts *Options) (any, error) {
	l := &loader{max: 8 << 30}
	if opts != nil && opts.MaxBytes > 0 {
		l.max = opts.MaxBytes
	}
	m := &pickle.Machine{Call: l.call(0)}
	v, _, err := m.Load(data)
	if err != nil {
		if errors.Is(err, ErrFormat) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return v, nil
}

func (l *loader) loadZip(data []byte, depth int) (any, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, formatErr("zip: %v", err)
	}
	files := map[string]*zip.File{}
	prefix := ""
	for _, f := range zr.File {
		files[f.Name] = f
		if strings.HasSuffix(f.Name, "/data.pkl") && strings.Count(f.Name, "/") == 1 {
			if prefix != "" {
				return nil, formatErr("two data.pkl in one archive")
			}
			prefix = strings.TrimSuffix(f.Name, "data.pkl")
		}
	}
	if prefix == "" {
		return nil, formatErr("a zip without <name>/data.pkl (not written by torch.save)")
	}
	if f := files[prefix+"byteorder"]; f != nil {
		b, err := readEntry(f, 16)
		if err != nil {
			return nil, err
		}
		if s := strings.TrimSpace(string(b)); s != "little" {
			return nil, formatErr("byte order %q (only little-endian checkpoints are read)", s)
		}
	}
	pkl, err := readEntry(files[prefix+"data.pkl"], 1<<30)
	if err != nil {
		return nil, err
	}
	storages := map[string]*Storage{}
	m := &pickle.Machine{Call: l.call(depth)}
	m.PersistentLoad = func(pid any) (any, error) {
		t, ok := pid.(pickle.Tuple)
		if !ok || len(t) < 5 || t[0] != "storage" {
			return nil, formatErr("persistent id %s is not a storage", pickle.TypeName(pid))
		}
		info, err := storageType(t[1])
		if err != nil {
			return nil, err
		}
		key, ok1 := t[2].(string)
		numel, ok2 := pickle.Int(t[4])
		if !ok1 || !ok2 || numel < 0 || strings.ContainsAny(key, "/\\") {
			return nil, formatErr("bad storage id (key %s, size %s)", pickle.TypeName(t[2]), pickle.TypeName(t[4]))
		}
		if s, ok := storages[key]; ok {
			return s, nil
		}
		f := files[prefix+"data/"+key]
		if f == nil {
			return nil, formatErr("storage %q is missing from the archive", key)
		}
		want := int64(numel) * int64(info.size)
		if numel > math.MaxInt64/8 || int64(f.UncompressedSize64) != want {
			return nil, formatErr("storage %q: %d bytes in the archive for %d %s values", key, f.UncompressedSize64, numel, info.name)
		}
		if err := l.charge(want); err != nil {
			return nil, err
		}
		raw, err := readEntry(f, want)
		if err != nil {
			return nil, err
		}
		if int64(len(raw)) != want {
			return nil, formatErr("storage %q: %d bytes, want %d", key, len(raw), want)
		}
		s := &Storage{Dtype: info.name, Numel: numel, raw: raw}
		storages[key] = s
		return s, nil
	}
	v, _, err := m.Load(pkl)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return v, nil
}

// readEntry reads a zip entry of at most max bytes. io.ReadAll grows as bytes
// arrive, so a size the header lies about costs no large allocation.
func readEntry(f *zip.File, max int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(max) {
		return nil, formatErr("%s: %d bytes (at most %d expected)", f.Name, f.UncompressedSize64, max)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, formatErr("%s: %v", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max))
	if err != nil {
		return nil, formatErr("%s: %v", f.Name, err)
	}
	return b, nil
}

// legacyMagic is torch.save's magic number, the first pickle of the legacy
// format.
var legacyMagic, _ = new(big.Int).SetString("1950A86A20F9469CFC6C", 16)

func (l *loader) loadLegacy(data []byte, depth int) (any, error) {
	pos := 0
	next := func(m *pickle.Machine) (any, error) {
		if m == nil {
			m = &pickle.Machine{}
		}
		v, n, err := m.Load(data[pos:])
		pos += n
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFormat, err)
		}
		return v, nil
	}
	magic, err := next(nil)
	if err != nil {
		return nil, err
	}
	if b, ok := magic.(*big.Int); !ok || b.Cmp(legacyMagic) != 0 {
		return nil, formatErr("a pickle, but not a torch.save file (no magic number); for NVIDIA's network pickles use the stylegan2 importer")
	}
	proto, err := next(nil)
	if err != nil {
		return nil, err
	}
	if p, _ := pickle.Int(proto); p != 1001 {
		return nil, formatErr("legacy protocol %v (want 1001)", proto)
	}
	sysInfo, err := next(nil)
	if err != nil {
		return nil, err
	}
	if d, ok := sysInfo.(*pickle.Dict); ok {
		if le, ok := d.Get("little_endian"); ok && le == false {
			return nil, formatErr("a big-endian checkpoint (only little-endian checkpoints are read)")
		}
	}
	first := len(l.pending)
	// The main pickle refers to storages by key; their bytes follow the
	// list of keys, so storages are filled in afterwards.
	type pending struct {
		s    *Storage
		size int
	}
	storages := map[string]*pending{}
	m := &pickle.Machine{Call: l.call(depth)}
	m.PersistentLoad = func(pid any) (any, error) {
		t, ok := pid.(pickle.Tuple)
		if !ok || len(t) < 6 || t[0] != "storage" {
			return nil, formatErr("persistent id %s is not a storage", pickle.TypeName(pid))
		}
		if t[5] != nil {
			return nil, formatErr("storage views are not supported")
		}
		info, err := storageType(t[1])
		if err != nil {
			return nil, err
		}
		key, ok1 := t[2].(string)
		numel, ok2 := pickle.Int(t[4])
		if !ok1 || !ok2 || numel < 0 || numel > math.MaxInt64/8 {
			return nil, formatErr("bad storage id")
		}
		if p, ok := storages[key]; ok {
			return p.s, nil
		}
		// Its bytes follow the pickles, so they must fit in what is left
		// of the file: checked now, before tensors of it are allocated.
		if int64(numel)*int64(info.size) > int64(len(data)-pos) {
			return nil, formatErr("storage %q of %d values is larger than the file", key, numel)
		}
		p := &pending{s: &Storage{Dtype: info.name, Numel: numel}, size: info.size}
		storages[key] = p
		return p.s, nil
	}
	root, err := next(m)
	if err != nil {
		return nil, err
	}
	keys, err := next(nil)
	if err != nil {
		return nil, err
	}
	kl, ok := keys.(*pickle.List)
	if !ok {
		return nil, formatErr("storage keys are a %s, not a list", pickle.TypeName(keys))
	}
	for _, k := range kl.Items {
		ks, ok := k.(string)
		p := storages[ks]
		if !ok || p == nil {
			return nil, formatErr("storage key %v was not used by the checkpoint", k)
		}
		if len(data)-pos < 8 {
			return nil, formatErr("storage %q: file ends early", ks)
		}
		n := binary.LittleEndian.Uint64(data[pos:])
		pos += 8
		if n != uint64(p.s.Numel) {
			return nil, formatErr("storage %q: %d values stored, %d expected", ks, n, p.s.Numel)
		}
		want := int64(p.s.Numel) * int64(p.size)
		if want > int64(len(data)-pos) {
			return nil, formatErr("storage %q: file ends early", ks)
		}
		if err := l.charge(want); err != nil {
			return nil, err
		}
		p.s.raw = data[pos : pos+int(want)]
		pos += int(want)
	}
	// Tensors were built before their storages were read: fill them now.
	for _, d := range l.pending[first:] {
		if d.s.raw == nil {
			return nil, formatErr("a storage's bytes are missing")
		}
		d.fill()
	}
	l.pending = l.pending[:first]
	return root, nil
}

func storageType(v any) (dtypeInfo, error) {
	g, ok := v.(*pickle.Global)
	if ok && (g.Module == "torch" || g.Module == "torch.cuda") {
		if info, ok := storageTypes[g.Name]; ok {
			return info, nil
		}
	}
	return dtypeInfo{}, formatErr("storage type %s is not supported", pickle.TypeName(v))
}

// deferred is a tensor whose storage's bytes come later in a legacy file.
type deferred struct {
	t      *Tensor
	s      *Storage
	offset int
	stride []int
}

// call interprets the functions torch's pickles call.
func (l *loader) call(depth int) func(fn any, args pickle.Tuple) (any, bool, error) {
	return func(fn any, args pickle.Tuple) (any, bool, error) {
		g, ok := fn.(*pickle.Global)
		if !ok {
			return nil, false, nil
		}
		switch g.Module + "." + g.Name {
		case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
			if len(args) < 4 {
				return nil, false, formatErr("%s with %d arguments", g, len(args))
			}
			t, err := l.rebuild(args[0], args[1], args[2], args[3])
			return t, err == nil, err
		case "torch._tensor._rebuild_from_type_v2":
			// (func, new_type, args, state): a tensor subclass rebuilt by func.
			if len(args) < 3 {
				return nil, false, formatErr("%s with %d arguments", g, len(args))
			}
			inner, ok := args[2].(pickle.Tuple)
			if !ok {
				return nil, false, formatErr("%s without an argument tuple", g)
			}
			if f, ok := args[0].(*pickle.Global); !ok || !strings.HasPrefix(f.Module, "torch.") || f.Name == g.Name {
				return nil, false, formatErr("%s of %s", g, pickle.TypeName(args[0]))
			}
			return l.call(depth)(args[0], inner)
		case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
			if len(args) < 1 {
				return nil, false, formatErr("%s with no arguments", g)
			}
			return args[0], true, nil
		case "torch.storage._load_from_bytes":
			if len(args) != 1 {
				return nil, false, formatErr("_load_from_bytes with %d arguments", len(args))
			}
			b, ok := args[0].([]byte)
			if !ok {
				return nil, false, formatErr("_load_from_bytes without bytes")
			}
			if depth > 0 {
				return nil, false, formatErr("nested _load_from_bytes")
			}
			v, err := l.load(b, depth+1)
			return v, err == nil, err
		case "torch.device":
			return g, true, nil
		}
		return nil, false, nil
	}
}

func ints(v any, what string) ([]int, error) {
	var items []any
	switch t := v.(type) {
	case pickle.Tuple:
		items = t
	case *pickle.Object: // torch.Size((…))
		if t.ClassName() == "torch.Size" && len(t.Args) == 1 {
			return ints(t.Args[0], what)
		}
		return nil, formatErr("tensor %s is a %s", what, pickle.TypeName(v))
	default:
		return nil, formatErr("tensor %s is a %s", what, pickle.TypeName(v))
	}
	if len(items) > 16 {
		return nil, formatErr("tensor of %d dimensions", len(items))
	}
	out := make([]int, len(items))
	for i, it := range items {
		n, ok := pickle.Int(it)
		if !ok || n < 0 || n > math.MaxInt32 {
			return nil, formatErr("tensor %s %v", what, it)
		}
		out[i] = n
	}
	return out, nil
}

// rebuild is torch._utils._rebuild_tensor_v2: a strided view of a storage,
// copied out as a contiguous tensor.
func (l *loader) rebuild(storage, offset, size, stride any) (*Tensor, error) {
	s, ok := storage.(*Storage)
	if !ok {
		return nil, formatErr("tensor of a %s, not a storage", pickle.TypeName(storage))
	}
	off, ok := pickle.Int(offset)
	if !ok || off < 0 {
		return nil, formatErr("tensor offset %v", offset)
	}
	shape, err := ints(size, "size")
	if err != nil {
		return nil, err
	}
	strides, err := ints(stride, "stride")
	if err != nil {
		return nil, err
	}
	if len(strides) != len(shape) {
		return nil, formatErr("tensor of %d sizes and %d strides", len(shape), len(strides))
	}
	n, last := 1, off
	for i, d := range shape {
		if d == 0 {
			n = 0
			break
		}
		if n > s.Numel/d {
			// More elements than the storage holds: an expanded tensor.
			return nil, formatErr("tensor %v is larger than its storage of %d values", shape, s.Numel)
		}
		n *= d
		if strides[i] > 0 && (d-1) > (math.MaxInt32-last)/strides[i] {
			return nil, formatErr("tensor strides %v out of range", strides)
		}
		last += (d - 1) * strides[i]
	}
	if n > 0 && last >= s.Numel {
		return nil, formatErr("tensor %v (offset %d, strides %v) reaches past its storage of %d values", shape, off, strides, s.Numel)
	}
	t := &Tensor{Dtype: s.Dtype, Shape: shape, Data: make([]float32, n)}
	d := &deferred{t: t, s: s, offset: off, stride: strides}
	if s.raw != nil {
		d.fill()
	} else {
		l.pending = append(l.pending, d)
	}
	return t, nil
}

// fill copies the strided values out of the storage.
func (d *deferred) fill() {
	t := d.t
	n := len(t.Data)
	if n == 0 {
		return
	}
	idx := make([]int, len(t.Shape))
	for i := 0; i < n; i++ {
		p := d.offset
		for k, v := range idx {
			p += v * d.stride[k]
		}
		t.Data[i] = d.s.value(p)
		for k := len(idx) - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < t.Shape[k] {
				break
			}
			idx[k] = 0
		}
	}
}

func (s *Storage) value(i int) float32 {
	r := s.raw
	switch s.Dtype {
	case "float32":
		return math.Float32frombits(binary.LittleEndian.Uint32(r[4*i:]))
	case "float64":
		return float32(math.Float64frombits(binary.LittleEndian.Uint64(r[8*i:])))
	case "float16":
		return tensor.HalfToFloat(binary.LittleEndian.Uint16(r[2*i:]))
	case "bfloat16":
		return math.Float32frombits(uint32(binary.LittleEndian.Uint16(r[2*i:])) << 16)
	case "int64":
		return float32(int64(binary.LittleEndian.Uint64(r[8*i:])))
	case "int32":
		return float32(int32(binary.LittleEndian.Uint32(r[4*i:])))
	case "int16":
		return float32(int16(binary.LittleEndian.Uint16(r[2*i:])))
	case "int8":
		return float32(int8(r[i]))
	}
	return float32(r[i]) // uint8, bool
}
