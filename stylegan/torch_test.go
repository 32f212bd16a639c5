package stylegan

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"forger/nn"
	"forger/tensor"
)

// relL2 is ‖a − b‖ / ‖b‖.
func relL2(a, b *tensor.Tensor) float64 {
	var d, n float64
	for i, v := range b.Data {
		e := float64(a.Data[i]) - float64(v)
		d += e * e
		n += float64(v) * float64(v)
	}
	if n == 0 {
		return math.Inf(1)
	}
	return math.Sqrt(d / n)
}

// TestMatchesPyTorch runs the networks of stylegan/testdata/
// stylegan-torch.safetensors (made by scripts/stylegan-reference.py: the
// same networks in plain PyTorch, float64 autograd, on the same weights and
// inputs) and compares outputs and gradients: the generator with style
// mixing (images, dz, dz2, every parameter, w_avg), the synthesis network
// from W+ (images, dW+), and the discriminator (logits, images' gradient,
// every parameter).
func TestMatchesPyTorch(t *testing.T) {
	fh, err := os.Open(filepath.Join("testdata", "stylegan-torch.safetensors"))
	if err != nil {
		t.Fatalf("%v (make it with: /usr/bin/python3 scripts/stylegan-reference.py stylegan/testdata/stylegan-torch.safetensors)", err)
	}
	defer fh.Close()
	f, err := tensor.ReadSafetensors(fh)
	if err != nil {
		t.Fatal(err)
	}
	var cfg Config
	if err := json.Unmarshal([]byte(f.Metadata["config"]), &cfg); err != nil {
		t.Fatal(err)
	}
	crossover, err := strconv.Atoi(f.Metadata["crossover"])
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(name string, shape ...int) *tensor.Tensor {
		t.Helper()
		v, err := f.Lookup(name, shape...)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	const tol = 1e-4
	agree := func(what string, got, want *tensor.Tensor) {
		t.Helper()
		if !tensor.SameShape(got.Shape, want.Shape) {
			t.Errorf("%s: shape %v, PyTorch %v", what, got.Shape, want.Shape)
			return
		}
		if e := relL2(got, want); e > tol || math.IsNaN(e) {
			t.Errorf("%s: differs from PyTorch by %.3g (relative L2)", what, e)
		} else if testing.Verbose() {
			t.Logf("%s: %.2g", what, e)
		}
	}

	g, err := NewGenerator(cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(g.Params(), g.Buffers()...) {
		p.Value.CopyFrom(lookup("g."+p.Name, p.Value.Shape...))
	}
	g.Synthesis.SetNoise(nn.NoiseConst, nil)
	g.SetTraining(true)

	t.Run("generator", func(t *testing.T) {
		nn.ZeroGrad(g.Params())
		z, z2 := lookup("g.z"), lookup("g.z2")
		img := g.Forward(z, z2, crossover)
		agree("images", img, lookup("g.img"))
		dz := g.Backward(lookup("g.r"))
		n := z.Len()
		agree("dz", dz.Samples(0, z.Shape[0]), lookup("g.grad.z"))
		agree("dz2", tensor.FromData(dz.Data[n:], z2.Shape...), lookup("g.grad.z2"))
		agree("w_avg", g.Mapping.WAvg.Value, lookup("g.w_avg_after"))
		for _, p := range g.Params() {
			agree("d"+p.Name, p.Grad, lookup("g.grad."+p.Name))
		}
	})
	t.Run("synthesis from W+", func(t *testing.T) {
		ws := lookup("ws.ws")
		agree("images", g.Synthesis.Forward(ws), lookup("ws.img"))
		agree("dW+", g.Synthesis.Backward(lookup("ws.r")), lookup("ws.grad.ws"))
	})
	t.Run("path length", func(t *testing.T) {
		g, err := NewGenerator(cfg, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range append(g.Params(), g.Buffers()...) {
			p.Value.CopyFrom(lookup("g."+p.Name, p.Value.Shape...))
		}
		g.Synthesis.SetNoise(nn.NoiseConst, nil)
		meta := func(k string) float64 {
			v, err := strconv.ParseFloat(f.Metadata[k], 64)
			if err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			return v
		}
		pl := NewPathLength()
		pl.Mean = meta("pl.mean_before")
		pl.fixedY = lookup("pl.y")
		nn.ZeroGrad(g.Params())
		pen, mean := pl.AddGrad(g, lookup("g.z"), lookup("g.z2"), crossover, nil, 1)
		for _, c := range []struct {
			what      string
			got, want float64
		}{{"penalty", pen, meta("pl.penalty")}, {"mean length", mean, meta("pl.mean_length")}, {"running mean", pl.Mean, meta("pl.mean_after")}} {
			if math.Abs(c.got-c.want) > tol*math.Abs(c.want) {
				t.Errorf("%s %.7g, PyTorch %.7g", c.what, c.got, c.want)
			}
		}
		// A finite-difference Hessian-vector product: agreement to 1e-3,
		// as gan's R1 test.
		for _, p := range g.Params() {
			want := lookup("pl.grad."+p.Name, p.Value.Shape...)
			if want.Sum() == 0 && tensor.MaxAbsDiff(want, tensor.New(want.Shape...)) == 0 {
				if d := tensor.MaxAbsDiff(p.Grad, want); d > 1e-6 {
					t.Errorf("d%s: %g where the penalty does not reach", p.Name, d)
				}
				continue
			}
			if e := relL2(p.Grad, want); e > 1e-3 || math.IsNaN(e) {
				t.Errorf("d%s: differs from PyTorch's double backward by %.3g (relative L2)", p.Name, e)
			} else if testing.Verbose() {
				t.Logf("d%s: %.2g", p.Name, e)
			}
		}
	})
	t.Run("discriminator", func(t *testing.T) {
		d, err := NewDiscriminator(cfg, rand.New(rand.NewPCG(2, 2)))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range append(d.Params(), d.Buffers()...) {
			p.Value.CopyFrom(lookup("d."+p.Name, p.Value.Shape...))
		}
		nn.ZeroGrad(d.Params())
		agree("logits", d.Forward(lookup("d.x")), lookup("d.logits"))
		agree("dx", d.Backward(lookup("d.r")), lookup("d.grad.x"))
		for _, p := range d.Params() {
			agree("d"+p.Name, p.Grad, lookup("d.grad."+p.Name))
		}
	})
}
