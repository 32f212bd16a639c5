package torch

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"forger/gan"
	"forger/internal/opterr"
	"forger/nn"
	"forger/optim"
)

// An OptionError reports a DCGANOptions value torch cannot use, by its Go
// name (NZ); a command line turns it into its flag.
type OptionError = opterr.Error

// DCGANOptions say what a PyTorch DCGAN checkpoint holds.
type DCGANOptions struct {
	Arch string // gan.DCGAN or gan.CDCGAN
	Size int    // image side; 0 means 64
	// NZ is the size of z; 0 means: for a dcgan, the generator's first
	// layer's inputs; for a cdcgan, 100 (the rest of the inputs are the
	// one-hot class).
	NZ int
	// Classes names a cdcgan's classes; nil means "0", "1", …
	Classes []string
	Source  string // recorded in the checkpoint's training state
}

// Split returns the generator's and the discriminator's tensors of a state
// dict: those under netG. and netD. (pytorch/examples' names; G./D.,
// generator./discriminator. too) when it has them, else all of it as the
// generator's. A DataParallel "module." prefix is dropped. A tensor outside
// the networks is an error naming it.
func Split(sd []Named) (g, d []Named, err error) {
	prefixes := [][2]string{{"netG.", "netD."}, {"G.", "D."}, {"generator.", "discriminator."}}
	for _, p := range prefixes {
		has := false
		for _, t := range sd {
			if strings.HasPrefix(t.Name, p[0]) || strings.HasPrefix(t.Name, p[1]) {
				has = true
				break
			}
		}
		if !has {
			continue
		}
		for _, t := range sd {
			switch {
			case strings.HasPrefix(t.Name, p[0]):
				g = append(g, Named{strings.TrimPrefix(t.Name, p[0]), t.Tensor})
			case strings.HasPrefix(t.Name, p[1]):
				d = append(d, Named{strings.TrimPrefix(t.Name, p[1]), t.Tensor})
			default:
				return nil, nil, fmt.Errorf("unexpected key %s %v beside %s… and %s…", t.Name, t.Tensor.Shape, p[0], p[1])
			}
		}
		return stripModule(g), stripModule(d), nil
	}
	return stripModule(sd), nil, nil
}

func stripModule(ts []Named) []Named {
	for i := range ts {
		ts[i].Name = strings.TrimPrefix(ts[i].Name, "module.")
	}
	return ts
}

// group is one PyTorch module's tensors: a convolution's weight, or a batch
// norm's weight, bias and running statistics.
type group struct {
	path    string
	tensors map[string]*Tensor
	first   Named // the first tensor, for errors
}

func groups(ts []Named) ([]*group, error) {
	var out []*group
	byPath := map[string]*group{}
	for _, t := range ts {
		i := strings.LastIndexByte(t.Name, '.')
		if i < 0 {
			return nil, fmt.Errorf("unexpected key %s %v", t.Name, t.Tensor.Shape)
		}
		path, leaf := t.Name[:i], t.Name[i+1:]
		switch leaf {
		case "weight", "bias", "running_mean", "running_var", "num_batches_tracked":
		default:
			return nil, fmt.Errorf("unexpected key %s %v", t.Name, t.Tensor.Shape)
		}
		gr := byPath[path]
		if gr == nil {
			gr = &group{path: path, tensors: map[string]*Tensor{}, first: t}
			byPath[path] = gr
			out = append(out, gr)
		}
		gr.tensors[leaf] = t.Tensor
	}
	return out, nil
}

func (gr *group) isConv() bool {
	w := gr.tensors["weight"]
	return w != nil && len(w.Shape) == 4
}

func (gr *group) unexpected(leaf string) error {
	t := gr.tensors[leaf]
	if t == nil {
		return fmt.Errorf("unexpected %s (no %s.%s)", gr.path, gr.path, leaf)
	}
	return fmt.Errorf("unexpected key %s.%s %v", gr.path, leaf, t.Shape)
}

// ImportDCGAN builds a forger checkpoint from pytorch/examples' DCGAN
// generator (gts) and, when d is not nil, discriminator: transposed
// convolution weights [in, out, kh, kw] become forger's [in, kh, kw, out],
// convolution weights [out, in, kh, kw] forger's [out, kh, kw, in], batch
// norms keep weight, bias and running statistics (num_batches_tracked is
// not used). A cdcgan's generator sees z and the one-hot class
// (gan.GCondOneHot); its discriminator's class maps at the input become the
// per-class bias after the first convolution (gan.DCondInput), exactly.
// Anything else is an error naming the first key that does not fit.
func ImportDCGAN(gts, dts []Named, o DCGANOptions) (*gan.Checkpoint, []string, error) {
	var notes []string
	if o.Size == 0 {
		o.Size = 64
	}
	gg, err := groups(gts)
	if err != nil {
		return nil, nil, fmt.Errorf("generator: %w", err)
	}
	if len(gts) == 0 {
		return nil, nil, fmt.Errorf("no generator tensors")
	}
	last := len(gg) - 1
	for last > 0 && !gg[last].isConv() {
		last--
	}
	if last < 1 || !gg[0].isConv() {
		return nil, nil, fmt.Errorf("generator: unexpected key %s %v (a DCGAN generator starts and ends with a transposed convolution)", gts[0].Name, gts[0].Tensor.Shape)
	}
	w0, wl := gg[0].tensors["weight"], gg[last].tensors["weight"]
	cfg := gan.Config{Arch: o.Arch, Size: o.Size, Channels: wl.Shape[1], NGF: wl.Shape[0], NZ: o.NZ}
	zin := w0.Shape[0]
	switch o.Arch {
	case gan.DCGAN:
		if cfg.NZ == 0 {
			cfg.NZ = zin
		}
		if cfg.NZ != zin {
			return nil, nil, &OptionError{Pkg: "torch", Option: "NZ", Value: cfg.NZ, Reason: fmt.Sprintf("does not fit: the generator's first layer %s.weight %v takes %d inputs", gg[0].path, w0.Shape, zin)}
		}
	case gan.CDCGAN:
		if cfg.NZ == 0 {
			cfg.NZ = 100
		}
		k := zin - cfg.NZ
		if k < 2 {
			return nil, nil, &OptionError{Pkg: "torch", Option: "NZ", Value: cfg.NZ, Reason: fmt.Sprintf("does not fit: the generator's first layer %s.weight %v takes %d inputs, no room for 2 or more classes", gg[0].path, w0.Shape, zin)}
		}
		if o.Classes == nil {
			for i := range k {
				o.Classes = append(o.Classes, strconv.Itoa(i))
			}
		}
		if len(o.Classes) != k {
			return nil, nil, fmt.Errorf("%d class names for a generator of %d classes (%d inputs, nz %d)", len(o.Classes), k, zin, cfg.NZ)
		}
		cfg.Classes = o.Classes
		cfg.GCond, cfg.DCond = gan.GCondOneHot, gan.DCondInput
	default:
		return nil, nil, &OptionError{Pkg: "torch", Option: "Arch", Value: o.Arch, Reason: "is unknown (use dcgan or cdcgan)"}
	}
	cfg.NDF = cfg.NGF
	var dg []*group
	if dts != nil {
		if dg, err = groups(dts); err != nil {
			return nil, nil, fmt.Errorf("discriminator: %w", err)
		}
		if len(dg) == 0 || !dg[0].isConv() {
			return nil, nil, fmt.Errorf("discriminator: unexpected key %s %v (a DCGAN discriminator starts with a convolution)", dts[0].Name, dts[0].Tensor.Shape)
		}
		cfg.NDF = dg[0].tensors["weight"].Shape[0]
	}
	if cfg.Channels != 1 && cfg.Channels != 3 {
		return nil, nil, fmt.Errorf("generator: unexpected key %s.weight %v (a DCGAN generator's last layer makes 1 or 3 channels; is this a discriminator?)", gg[last].path, wl.Shape)
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	// Every layer must match a tensor of the file exactly, so forger's
	// networks hold as many values as the file's: checked before building
	// them, so that odd shapes cannot make forger allocate a huge network.
	if n, have := genValues(cfg), values(gts); n > have {
		return nil, nil, fmt.Errorf("generator: %s needs %d values, the file has %d (first key %s %v)", desc(cfg), n, have, gts[0].Name, gts[0].Tensor.Shape)
	}
	if dts != nil {
		if n, have := discValues(cfg), values(dts); n > have {
			return nil, nil, fmt.Errorf("discriminator: forger's needs %d values with ndf %d, the file has %d (first key %s %v)", n, cfg.NDF, have, dts[0].Name, dts[0].Tensor.Shape)
		}
	}
	rng := rand.New(rand.NewPCG(0, 0))
	g, err := gan.NewGenerator(cfg, rng)
	if err != nil {
		return nil, nil, err
	}
	d, err := gan.NewDiscriminator(cfg, rng)
	if err != nil {
		return nil, nil, err
	}
	if err := mapLayers("generator", g.Net.Layers, gg, nil, desc(cfg)); err != nil {
		return nil, nil, err
	}
	if dg != nil {
		layers := append(append([]nn.Layer{}, d.Trunk.Layers...), d.Head)
		var cb *nn.ClassBias
		if len(layers) > 1 {
			cb, _ = layers[1].(*nn.ClassBias)
		}
		ddesc := fmt.Sprintf("forger's %s discriminator at %d×%d with ndf %d, %d channels", cfg.Arch, cfg.Size, cfg.Size, cfg.NDF, cfg.Channels)
		if err := mapLayers("discriminator", layers, dg, cb, ddesc); err != nil {
			return nil, nil, err
		}
	} else {
		notes = append(notes, "no discriminator: D starts from DCGAN's initialisation (give --d netD_epoch_N.pth to bring it)")
	}
	g.SetTraining(false)
	state, _ := json.Marshal(map[string]any{"epoch": 0, "images": 0, "imported_from": o.Source})
	ck := &gan.Checkpoint{Config: cfg, G: g, D: d,
		OptG: optim.NewAdam(g.Params(), 2e-4, 0.5, 0.999), OptD: optim.NewAdam(d.Params(), 2e-4, 0.5, 0.999),
		TrainState: string(state)}
	return ck, notes, nil
}

// mapLayers copies the PyTorch groups, in order, into forger's layers that
// have weights. cb, when set, takes the class channels of the first
// convolution.
func mapLayers(net string, layers []nn.Layer, gs []*group, cb *nn.ClassBias, desc string) error {
	i := 0
	next := func(want string) (*group, error) {
		if i >= len(gs) {
			return nil, fmt.Errorf("%s: the file ends before %s's %s", net, desc, want)
		}
		gr := gs[i]
		i++
		return gr, nil
	}
	for li, l := range layers {
		switch l := l.(type) {
		case *nn.ConvTranspose2d:
			gr, err := next("transposed convolution")
			if err != nil {
				return err
			}
			w := gr.tensors["weight"]
			want := []int{l.In, l.Out, l.K, l.K}
			if err := only(gr, "weight"); err != nil {
				return fmt.Errorf("%s: %w", net, err)
			}
			if !gr.isConv() || !same(w.Shape, want) {
				return fmt.Errorf("%s: unexpected key %s.weight %v (%s has a transposed convolution of weight %v here)", net, gr.path, w.Shape, desc, want)
			}
			dst := l.Weight.Value.Data
			in, out, k := l.In, l.Out, l.K
			for a := range in {
				for o := range out {
					for y := range k {
						for x := range k {
							dst[((a*k+y)*k+x)*out+o] = w.Data[((a*out+o)*k+y)*k+x]
						}
					}
				}
			}
		case *nn.Conv2d:
			gr, err := next("convolution")
			if err != nil {
				return err
			}
			w := gr.tensors["weight"]
			if err := only(gr, "weight"); err != nil {
				return fmt.Errorf("%s: %w", net, err)
			}
			extra := 0
			if li == 0 && cb != nil {
				extra = len(cb.Weight.Value.Data) / (cb.Table.Dim) // classes
			}
			want := []int{l.Out, l.In + extra, l.KH, l.KW}
			if !gr.isConv() || !same(w.Shape, want) {
				return fmt.Errorf("%s: unexpected key %s.weight %v (%s has a convolution of weight %v here)", net, gr.path, w.Shape, desc, want)
			}
			cin := l.In + extra
			dst := l.Weight.Value.Data
			for o := range l.Out {
				for y := range l.KH {
					for x := range l.KW {
						for a := range l.In {
							dst[((o*l.KH+y)*l.KW+x)*l.In+a] = w.Data[((o*cin+a)*l.KH+y)*l.KW+x]
						}
					}
				}
			}
			if extra > 0 {
				classBias(cb, l, w.Data, extra)
			}
		case *nn.BatchNorm:
			gr, err := next("batch norm")
			if err != nil {
				return err
			}
			if err := only(gr, "weight", "bias", "running_mean", "running_var", "num_batches_tracked"); err != nil {
				return fmt.Errorf("%s: %w", net, err)
			}
			for _, p := range []struct {
				leaf string
				dst  *nn.Param
			}{{"weight", l.Gamma}, {"bias", l.Beta}, {"running_mean", l.RunMean}, {"running_var", l.RunVar}} {
				t := gr.tensors[p.leaf]
				if t == nil || !same(t.Shape, []int{l.C}) {
					if t == nil {
						t = gr.first.Tensor
					}
					return fmt.Errorf("%s: unexpected key %s.%s %v (%s has a batch norm of %d channels here, with weight, bias, running_mean and running_var)", net, gr.path, p.leaf, t.Shape, desc, l.C)
				}
				copy(p.dst.Value.Data, t.Data)
			}
		}
	}
	if i < len(gs) {
		gr := gs[i]
		return fmt.Errorf("%s: unexpected key %s %v (%s has no more layers)", net, gr.first.Name, gr.first.Tensor.Shape, desc)
	}
	return nil
}

// classBias turns the class channels of a convolution's weight (channels
// l.In … l.In+k-1 of w, [out, in+k, kh, kw]) into the per-class bias map that
// constant one-hot input maps make: for class c, output (oy, ox) and
// channel o, the sum of the taps that fall inside the image.
func classBias(cb *nn.ClassBias, l *nn.Conv2d, w []float32, k int) {
	side := cb.Table.Dim / l.Out
	ho := 1
	for ho*ho < side {
		ho++
	}
	hi := (ho-1)*l.Stride + l.KH - l.PadT - l.PadB // input size
	cin := l.In + k
	dst := cb.Weight.Value.Data
	for c := range k {
		row := dst[c*cb.Table.Dim : (c+1)*cb.Table.Dim]
		for oy := range ho {
			for ox := range ho {
				for o := range l.Out {
					var s float32
					for y := range l.KH {
						iy := oy*l.Stride - l.PadT + y
						if iy < 0 || iy >= hi {
							continue
						}
						for x := range l.KW {
							ix := ox*l.Stride - l.PadL + x
							if ix < 0 || ix >= hi {
								continue
							}
							s += w[((o*cin+l.In+c)*l.KH+y)*l.KW+x]
						}
					}
					row[(oy*ho+ox)*l.Out+o] = s
				}
			}
		}
	}
}

// only checks that a group has no tensors but those named.
func only(gr *group, leaves ...string) error {
	keys := make([]string, 0, len(gr.tensors))
	for k := range gr.tensors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, leaf := range keys {
		t := gr.tensors[leaf]
		ok := false
		for _, l := range leaves {
			ok = ok || l == leaf
		}
		if !ok {
			return fmt.Errorf("unexpected key %s.%s %v", gr.path, leaf, t.Shape)
		}
	}
	return nil
}

func same(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func desc(cfg gan.Config) string {
	return fmt.Sprintf("forger's %s at %d×%d with nz %d, ngf %d", cfg.Arch, cfg.Size, cfg.Size, cfg.NZ, cfg.NGF)
}

// values is the number of values in ts, saturating.
func values(ts []Named) int64 {
	var n int64
	for _, t := range ts {
		n += int64(len(t.Tensor.Data))
	}
	return n
}

// genValues is the number of values of forger's generator for cfg (weights
// and batch-norm tensors; a saturating estimate for absurd shapes).
func genValues(cfg gan.Config) int64 {
	base, ups := 4, 0
	for s := cfg.Size; s > 7 && s%2 == 0; s /= 2 {
		ups++
	}
	if cfg.Size == 28 {
		base, ups = 7, 2
	}
	if ups < 1 || ups > 8 {
		return 1 << 62
	}
	in := int64(cfg.NZ + len(cfg.Classes))
	ch := int64(cfg.NGF) << (ups - 1)
	n := in*ch*int64(base*base) + 4*ch
	for i := 1; i < ups; i++ {
		n += ch*(ch/2)*16 + 2*ch
		ch /= 2
	}
	return n + ch*int64(cfg.Channels)*16
}

// discValues is the same for the discriminator's convolutions.
func discValues(cfg gan.Config) int64 {
	ch := int64(cfg.NDF)
	n := int64(cfg.Channels+len(cfg.Classes)) * ch * 16
	for s := cfg.Size / 2; s > 7; s /= 2 {
		n += ch * ch * 2 * 16
		ch *= 2
	}
	return n
}
