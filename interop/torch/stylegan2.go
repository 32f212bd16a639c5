package torch

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"

	"forger/gan"
	"forger/interop/pickle"
	"forger/stylegan"
)

// ErrUnsupported is wrapped by the errors of ImportStyleGAN2 about a
// network pickle that is readable but not a StyleGAN2 generator forger's
// stylegan model can run exactly: StyleGAN3, conditional, the orig or
// resnet generator architectures, another resampling filter, or tensors
// missing, left over or of another shape (the error names the first).
var ErrUnsupported = errors.New("not a StyleGAN2 generator forger can import")

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, args...))
}

// StyleGAN2Options say which network of a pickle to import.
type StyleGAN2Options struct {
	Key    string // the snapshot's entry: "G_ema" when empty
	Source string // recorded in the checkpoint's training state
	// MaxBytes bounds the pickle and its storages (default 4 GiB; NVIDIA's
	// 1024×1024 FFHQ snapshot is 380 MB).
	MaxBytes int64
}

// persistent is a module pickled by NVIDIA's torch_utils.persistence:
// _reconstruct_persistent_obj(meta), its __dict__ in meta["state"].
type persistent struct {
	class string
	state *pickle.Dict
}

func asPersistent(v any, what string) (*persistent, error) {
	o, ok := v.(*pickle.Object)
	if !ok || o.ClassName() != "torch_utils.persistence._reconstruct_persistent_obj" || len(o.Args) != 1 {
		return nil, unsupported("%s is a %s, not a network of NVIDIA's torch_utils.persistence", what, pickle.TypeName(v))
	}
	meta, ok := o.Args[0].(*pickle.Dict)
	if !ok {
		return nil, unsupported("%s: persistence metadata is a %s", what, pickle.TypeName(o.Args[0]))
	}
	cv, _ := meta.Get("class_name")
	class, _ := cv.(string)
	sv, _ := meta.Get("state")
	st, ok := sv.(*pickle.Dict)
	if !ok || class == "" {
		return nil, unsupported("%s: persistence metadata without class_name and state", what)
	}
	return &persistent{class: class, state: st}, nil
}

func (p *persistent) attr(name string) any { v, _ := p.state.Get(name); return v }

// child returns the submodule name, nil when there is none.
func (p *persistent) child(name string) (*persistent, error) {
	mods, ok := p.attr("_modules").(*pickle.Dict)
	if !ok {
		return nil, nil
	}
	v, ok := mods.Get(name)
	if !ok || v == nil {
		return nil, nil
	}
	return asPersistent(v, name)
}

// clean makes a string from the pickle fit in a one-line message: at most
// 60 bytes, quoted when it holds anything unprintable.
func clean(s string) string {
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

// show formats an attribute's value for a message: strings cleaned,
// numbers as numbers, None, else its type.
func show(v any) string {
	if v == nil {
		return "None"
	}
	if s, ok := v.(string); ok {
		return clean(s)
	}
	if n, ok := number(v); ok {
		return fmt.Sprint(n)
	}
	return pickle.TypeName(v)
}

func (p *persistent) int(name string) (int, bool) { return pickle.Int(p.attr(name)) }

// number reads a Python int or float attribute.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case bool:
		return 0, false
	}
	if n, ok := pickle.Int(v); ok {
		return float64(n), true
	}
	return 0, false
}

// ImportStyleGAN2 reads a network pickle of NVIDIA's stylegan2-ada-pytorch
// (or a StyleGAN2 of the stylegan3 repository) — pickle.dump of a snapshot
// dict whose networks are torch_utils.persistence objects — without running
// any of it, and returns the generator under o.Key as a forger stylegan
// checkpoint of the generator alone, with its configuration: widths,
// mapping depth and learning-rate multiplier, w_avg and conv_clamp as
// stored. Layers NVIDIA runs in FP16 run in float32 here, clamped as there.
func ImportStyleGAN2(data []byte, o StyleGAN2Options) (*gan.Checkpoint, error) {
	max := o.MaxBytes
	if max <= 0 {
		max = 4 << 30
	}
	if int64(len(data)) > max {
		return nil, formatErr("%d bytes, more than the %d a network pickle may have", len(data), max)
	}
	if len(data) < 2 || data[0] != 0x80 {
		return nil, formatErr("not a pickle (it starts with % x)", data[:min(len(data), 4)])
	}
	v, err := LoadPickle(data, &Options{MaxBytes: max})
	if err != nil {
		return nil, err
	}
	key := o.Key
	if key == "" {
		key = "G_ema"
	}
	root, ok := v.(*pickle.Dict)
	if !ok {
		return nil, unsupported("the pickle holds a %s, not a snapshot dict (G, D, G_ema, …)", pickle.TypeName(v))
	}
	gv, ok := root.Get(key)
	if !ok {
		var keys []string
		for _, k := range root.Keys {
			if s, ok := k.(string); ok && len(keys) < 8 {
				keys = append(keys, clean(s))
			}
		}
		return nil, unsupported("no %s in the snapshot (it has %s)", clean(key), strings.Join(keys, ", "))
	}
	g, err := asPersistent(gv, key)
	if err != nil {
		return nil, err
	}
	sc, err := styleConfig(g, key)
	if err != nil {
		return nil, err
	}
	sd, err := StateDict(gv)
	if err != nil {
		return nil, unsupported("%s: %v", key, err)
	}
	cfg := gan.StyleConfig(sc)
	sg, err := gan.NewStyleGenerator(cfg, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, unsupported("%s: %v", key, err)
	}
	if err := mapStyleGAN2(sg.Generator, sd, key); err != nil {
		return nil, err
	}
	sg.SetTraining(false)
	state, _ := json.Marshal(map[string]any{"epoch": 0, "images": 0, "imported_from": o.Source})
	return &gan.Checkpoint{Config: cfg, G: sg, TrainState: string(state)}, nil
}

// styleConfig reads the generator's shape from its attributes and tensors,
// refusing what forger's stylegan does not compute.
func styleConfig(g *persistent, key string) (stylegan.Config, error) {
	var c stylegan.Config
	if g.class != "Generator" {
		return c, unsupported("%s is a %s, not a Generator", key, clean(g.class))
	}
	syn, err := g.child("synthesis")
	if err != nil || syn == nil {
		return c, unsupported("%s has no synthesis network", key)
	}
	if in, _ := syn.child("input"); in != nil || syn.class != "SynthesisNetwork" {
		return c, unsupported("%s is a StyleGAN3 (alias-free) generator; only StyleGAN2's is imported", key)
	}
	zDim, ok1 := g.int("z_dim")
	cDim, ok2 := g.int("c_dim")
	wDim, ok3 := g.int("w_dim")
	res, ok4 := g.int("img_resolution")
	ch, ok5 := g.int("img_channels")
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		return c, unsupported("%s lacks z_dim, c_dim, w_dim, img_resolution or img_channels", key)
	}
	if cDim != 0 {
		return c, unsupported("%s is conditional (c_dim %d); forger's stylegan is unconditional", key, cDim)
	}
	if res < 8 || res > 1024 || res&(res-1) != 0 || (ch != 1 && ch != 3) || zDim < 1 || zDim > 4096 || wDim < 1 || wDim > 4096 {
		return c, unsupported("%s: %d×%d×%d images, z_dim %d, w_dim %d (forger imports 8 to 1024, 1 or 3 channels)", key, res, res, ch, zDim, wDim)
	}
	mapping, err := g.child("mapping")
	if err != nil || mapping == nil {
		return c, unsupported("%s has no mapping network", key)
	}
	layers, ok := mapping.int("num_layers")
	if !ok || layers < 1 || layers > 64 {
		return c, unsupported("%s: mapping num_layers %s", key, show(mapping.attr("num_layers")))
	}
	fc0, err := mapping.child("fc0")
	if err != nil || fc0 == nil {
		return c, unsupported("%s: mapping without fc0", key)
	}
	lr, ok := number(fc0.attr("bias_gain"))
	if !ok || !(lr > 0) || lr > 1e6 {
		return c, unsupported("%s: mapping.fc0's learning-rate multiplier (bias_gain) %s", key, show(fc0.attr("bias_gain")))
	}
	for i := 0; i < layers; i++ {
		fc, err := mapping.child(fmt.Sprintf("fc%d", i))
		if err != nil || fc == nil {
			return c, unsupported("%s: mapping without fc%d", key, i)
		}
		if a := fc.attr("activation"); a != "lrelu" {
			return c, unsupported("%s: mapping.fc%d's activation %s (forger's is lrelu)", key, i, show(a))
		}
		if l, ok := number(fc.attr("bias_gain")); !ok || l != lr {
			return c, unsupported("%s: mapping.fc%d's learning-rate multiplier %s differs from fc0's %g", key, i, show(fc.attr("bias_gain")), lr)
		}
	}
	beta := 0.995
	if b, ok := number(mapping.attr("w_avg_beta")); ok && b >= 0 && b <= 1 {
		beta = b
	}

	// Widths as stored, and the conv_clamp every layer shares.
	widths := map[int]int{}
	clamp, clampSet := 0.0, false
	for r := 4; r <= res; r *= 2 {
		name := fmt.Sprintf("synthesis.b%d", r)
		b, err := syn.child(fmt.Sprintf("b%d", r))
		if err != nil || b == nil {
			return c, unsupported("%s: no %s", key, name)
		}
		if b.class != "SynthesisBlock" {
			return c, unsupported("%s: %s is a %s", key, name, clean(b.class))
		}
		if a := b.attr("architecture"); a != "skip" {
			return c, unsupported("%s: the %s architecture (forger's generator is StyleGAN2's skip)", key, show(a))
		}
		if err := checkFilter(b, name); err != nil {
			return c, err
		}
		parts := []string{"conv0", "conv1", "torgb"}
		if r == 4 {
			parts = parts[1:]
		}
		for _, part := range parts {
			l, err := b.child(part)
			if err != nil || l == nil {
				return c, unsupported("%s: no %s.%s", key, name, part)
			}
			if part != "torgb" {
				if a := l.attr("activation"); a != "lrelu" {
					return c, unsupported("%s: %s.%s's activation %s (forger's is lrelu)", key, name, part, show(a))
				}
				if u := l.attr("use_noise"); u != true {
					return c, unsupported("%s: %s.%s has no noise input", key, name, part)
				}
				if err := checkFilter(l, name+"."+part); err != nil {
					return c, err
				}
			}
			cc := 0.0
			if v := l.attr("conv_clamp"); v != nil {
				n, ok := number(v)
				if !ok || !(n > 0) || n > 1e30 {
					return c, unsupported("%s: %s.%s's conv_clamp %s", key, name, part, show(v))
				}
				cc = n
			}
			if clampSet && cc != clamp {
				return c, unsupported("%s: %s.%s's conv_clamp %g differs from the other layers' %g", key, name, part, cc, clamp)
			}
			clamp, clampSet = cc, true
		}
		conv1, _ := b.child("conv1")
		w := tensorIn(conv1, "weight")
		if w == nil || len(w.Shape) != 4 {
			return c, unsupported("%s: %s.conv1.weight is missing or not 4-D", key, name)
		}
		widths[r] = w.Shape[0]
	}
	cmax := widths[4]
	base := cmax * res
	for r := 4; r <= res; r *= 2 {
		if widths[r] < cmax {
			base = widths[r] * r
			break
		}
	}
	for r := 4; r <= res; r *= 2 {
		if min(base/r, cmax) != widths[r] {
			return c, unsupported("%s: widths %v do not follow min(channel_base/res, channel_max)", key, widthList(widths, res))
		}
	}
	c = stylegan.Config{
		Size: res, Channels: ch, ZDim: zDim, WDim: wDim, MappingLayers: layers,
		MappingLRMul: float32(lr), WAvgBeta: float32(beta),
		ChannelBase: base, ChannelMax: cmax, MbstdGroup: 4, ConvClamp: float32(clamp),
	}
	if err := c.Validate(); err != nil {
		return c, unsupported("%s: %v", key, err)
	}
	return c, nil
}

func widthList(w map[int]int, res int) string {
	var s []string
	for r := 4; r <= res; r *= 2 {
		s = append(s, fmt.Sprintf("%d: %d", r, w[r]))
	}
	return "{" + strings.Join(s, ", ") + "}"
}

// tensorIn returns a module's parameter or buffer, nil when it has none.
func tensorIn(p *persistent, name string) *Tensor {
	for _, part := range []string{"_parameters", "_buffers"} {
		if d, ok := p.attr(part).(*pickle.Dict); ok {
			if v, ok := d.Get(name); ok {
				if t, ok := v.(*Tensor); ok {
					return t
				}
			}
		}
	}
	return nil
}

// checkFilter requires the resampling filter forger computes: [1,3,3,1]
// as upfirdn2d.setup_filter stores it, its outer product normalised to sum 1.
func checkFilter(p *persistent, name string) error {
	f := tensorIn(p, "resample_filter")
	if f == nil || len(f.Shape) != 2 || f.Shape[0] != 4 || f.Shape[1] != 4 {
		return unsupported("%s.resample_filter is not a 4×4 filter", name)
	}
	taps := [4]float64{1, 3, 3, 1}
	for i, v := range f.Data {
		if math.Abs(float64(v)-taps[i/4]*taps[i%4]/64) > 1e-6 {
			return unsupported("%s.resample_filter is not [1,3,3,1] (forger's only filter)", name)
		}
	}
	return nil
}

// mapStyleGAN2 copies the state dict sd into g: names are the same
// (forger's stylegan names its tensors after NVIDIA's); convolution weights
// go from [out, in, kh, kw] to [out, kh, kw, in] and the 4×4 constant from
// [C, 4, 4] to [4, 4, C]; noise strengths are scalars there and [1] here.
// The resampling filters, checked by styleConfig, are not tensors of
// forger's.
func mapStyleGAN2(g *stylegan.Generator, sd []Named, key string) error {
	prefix := key + "."
	src := map[string]*Tensor{}
	for _, nt := range sd {
		name := strings.TrimPrefix(nt.Name, prefix)
		if strings.HasSuffix(name, "resample_filter") {
			continue
		}
		src[name] = nt.Tensor
	}
	for _, p := range append(g.Params(), g.Buffers()...) {
		t, ok := src[p.Name]
		if !ok {
			return unsupported("%s has no %s, which forger's %d×%d generator needs", key, p.Name, g.Config.Size, g.Config.Size)
		}
		delete(src, p.Name)
		dst := p.Value
		want := dst.Shape
		var perm func(i int) int // forger's index → the stored one
		switch {
		case len(want) == 4: // [O, kh, kw, I] ← [O, I, kh, kw]
			o, kh, kw, in := want[0], want[1], want[2], want[3]
			if !same(t.Shape, []int{o, in, kh, kw}) {
				return shapeErr(key, p.Name, t.Shape, []int{o, in, kh, kw})
			}
			perm = func(i int) int {
				c := i % in
				x := i / in % kw
				y := i / in / kw % kh
				oo := i / in / kw / kh
				return ((oo*in+c)*kh+y)*kw + x
			}
		case strings.HasSuffix(p.Name, ".const"): // [4, 4, C] ← [C, 4, 4]
			h, w, ch := want[0], want[1], want[2]
			if !same(t.Shape, []int{ch, h, w}) {
				return shapeErr(key, p.Name, t.Shape, []int{ch, h, w})
			}
			perm = func(i int) int { return (i%ch*h+i/ch/w)*w + i/ch%w }
		case strings.HasSuffix(p.Name, ".noise_strength"):
			if len(t.Shape) != 0 {
				return shapeErr(key, p.Name, t.Shape, nil)
			}
		default:
			if !same(t.Shape, want) {
				return shapeErr(key, p.Name, t.Shape, want)
			}
		}
		if len(t.Data) != dst.Len() {
			return shapeErr(key, p.Name, t.Shape, want)
		}
		for i := range dst.Data {
			j := i
			if perm != nil {
				j = perm(i)
			}
			v := t.Data[j]
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return unsupported("%s.%s holds %g", key, p.Name, v)
			}
			dst.Data[i] = v
		}
	}
	for _, nt := range sd { // the first left over, in the pickle's order
		if name := strings.TrimPrefix(nt.Name, prefix); src[name] != nil {
			return unsupported("%s has %s, which forger's generator has no place for", key, clean(name))
		}
	}
	return nil
}

func shapeErr(key, name string, got, want []int) error {
	return unsupported("%s.%s is %s, forger's generator needs %s", key, name, ShapeString(got), ShapeString(want))
}
