package torch

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"forger/gan"
	"forger/interop/pickle"
	"forger/tensor"
)

// nchwToNHWC turns NVIDIA's images into forger's layout.
func nchwToNHWC(t *tensor.Tensor) *tensor.Tensor {
	n, c, h, w := t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]
	out := tensor.New(n, h, w, c)
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					out.Data[((b*h+y)*w+x)*c+ch] = t.Data[((b*c+ch)*h+y)*w+x]
				}
			}
		}
	}
	return out
}

// TestImportStyleGAN2Matches imports the network pickles of
// testdata/stylegan2, made by NVIDIA's stylegan2-ada-pytorch code with
// random weights (scripts/interop/stylegan2-fixture.py), saves each as a
// forger checkpoint, loads it as generate does and renders NVIDIA's z: the
// images (constant noise; truncation 1 and 0.7) are within 1e-3 of
// NVIDIA's. rgb32 has conv_clamp 1, which changes its images by up to 6,
// and FP16 blocks; gray16 has z_dim ≠ w_dim and one channel.
//
// FORGER_STYLEGAN2_EXTRA=DIR adds every DIR/NAME.pkl with its
// DIR/NAME.safetensors (the fixture script's --full1024 network).
func TestImportStyleGAN2Matches(t *testing.T) {
	type net struct{ dir, name string }
	nets := []net{{"", "rgb32"}, {"", "tiny8"}, {"", "gray16"}}
	if extra := os.Getenv("FORGER_STYLEGAN2_EXTRA"); extra != "" {
		paths, _ := filepath.Glob(filepath.Join(extra, "*.pkl"))
		if len(paths) == 0 {
			t.Fatalf("FORGER_STYLEGAN2_EXTRA=%s: no .pkl there", extra)
		}
		for _, p := range paths {
			nets = append(nets, net{extra, strings.TrimSuffix(filepath.Base(p), ".pkl")})
		}
	}
	for _, n := range nets {
		name := n.name
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", "stylegan2")
			if n.dir != "" {
				dir = n.dir
			}
			data, err := os.ReadFile(filepath.Join(dir, name+".pkl"))
			if err != nil {
				t.Fatalf("%v (make it with scripts/interop/stylegan2-fixture.py)", err)
			}
			ck, err := ImportStyleGAN2(data, StyleGAN2Options{Source: name + ".pkl"})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), name+".safetensors")
			if err := ck.Save(path); err != nil {
				t.Fatal(err)
			}
			gn, err := gan.LoadGeneratorNet(path)
			if err != nil {
				t.Fatal(err)
			}
			g := gn.(*gan.StyleGenerator)
			fh, err := os.Open(filepath.Join(dir, name+".safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			ref, err := tensor.ReadSafetensors(fh)
			if err != nil {
				t.Fatal(err)
			}
			z := ref.Tensors["z"]
			for _, c := range []struct {
				img string
				psi float64
			}{{"img", 1}, {"img_psi", 0.7}} {
				want := nchwToNHWC(ref.Tensors[c.img])
				got := g.Truncated(z, c.psi)
				if !tensor.SameShape(got.Shape, want.Shape) {
					t.Fatalf("%s: shape %v, NVIDIA's %v", c.img, got.Shape, want.Shape)
				}
				d := tensor.MaxAbsDiff(got, want)
				t.Logf("%s (psi %g): max abs difference %.3g from NVIDIA's", c.img, c.psi, d)
				if d > 1e-3 {
					t.Errorf("%s (psi %g): differs from NVIDIA's by %g", c.img, c.psi, d)
				}
			}
			if name == "rgb32" && ck.Config.StyleGAN.ConvClamp != 1 {
				t.Errorf("ConvClamp %g, want 1", ck.Config.StyleGAN.ConvClamp)
			}
		})
	}
}

// TestImportStyleGAN2Refuses: what forger cannot run gets an error of one
// line wrapping ErrUnsupported or ErrFormat, naming the cause.
func TestImportStyleGAN2Refuses(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", "stylegan2", name))
		if err != nil {
			t.Fatalf("%v (make it with scripts/interop/stylegan2-fixture.py)", err)
		}
		return b
	}
	rgb := read("rgb32.pkl")
	dcgan, err := os.ReadFile(filepath.Join("testdata", "dcgan64", "netG_epoch_0.pth"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		data []byte
		o    StyleGAN2Options
		sent error
		says string
	}{
		{"conditional", read("cond8.pkl"), StyleGAN2Options{}, ErrUnsupported, "conditional (c_dim 3)"},
		{"orig", read("orig8.pkl"), StyleGAN2Options{}, ErrUnsupported, "orig architecture"},
		{"no such key", rgb, StyleGAN2Options{Key: "G_smooth"}, ErrUnsupported, "no G_smooth in the snapshot (it has training_set_kwargs, G, D, G_ema, augment_pipe)"},
		{"D is None", rgb, StyleGAN2Options{Key: "D"}, ErrUnsupported, "D is a None"},
		{"too large", rgb, StyleGAN2Options{MaxBytes: 1000}, ErrFormat, "more than the 1000"},
		{"not a pickle", []byte("GIF89a"), StyleGAN2Options{}, ErrFormat, "not a pickle"},
		{"a torch.save zip", dcgan, StyleGAN2Options{}, ErrFormat, "not a pickle"},
		{"truncated", rgb[:len(rgb)/2], StyleGAN2Options{}, ErrFormat, ""},
		{"no argument to _load_from_bytes", []byte("\x80\x02ctorch.storage\n_load_from_bytes\n)R."), StyleGAN2Options{}, ErrFormat, "_load_from_bytes with 0 arguments"},
	}
	for _, c := range cases {
		_, err := ImportStyleGAN2(c.data, c.o)
		if err == nil || !errors.Is(err, c.sent) || !strings.Contains(err.Error(), c.says) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line wrapping %v saying %q", c.name, err, c.sent, c.says)
		}
	}
}

// TestImportStyleGAN2Tensors: a tensor missing, misshaped or left over is
// named. The pickle is changed after reading, through the same mapping.
func TestImportStyleGAN2Tensors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "stylegan2", "tiny8.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	ck, err := ImportStyleGAN2(b, StyleGAN2Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := ck.G.(*gan.StyleGenerator).Generator
	sd := func() []Named {
		v, err := LoadPickle(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		gv, _ := v.(interface{ Get(string) (any, bool) }).Get("G_ema")
		s, err := StateDict(gv)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if err := mapStyleGAN2(g, sd(), "G_ema"); err != nil {
		t.Fatalf("the pickle's own tensors: %v", err)
	}
	var s []Named
	for _, nt := range sd() {
		if nt.Name != "mapping.fc1.weight" {
			s = append(s, nt)
		}
	}
	if err := mapStyleGAN2(g, s, "G_ema"); err == nil || !strings.Contains(err.Error(), "has no mapping.fc1.weight") {
		t.Errorf("a tensor left out: %v", err)
	}
	s = sd()
	for _, nt := range s {
		if nt.Name == "synthesis.b8.conv0.weight" {
			nt.Tensor.Shape = []int{nt.Tensor.Shape[0], nt.Tensor.Shape[1], 1, 9}
		}
	}
	if err := mapStyleGAN2(g, s, "G_ema"); err == nil || !strings.Contains(err.Error(), "synthesis.b8.conv0.weight is [8 16 1 9]") {
		t.Errorf("a misshaped tensor: %v", err)
	}
	s = append(sd(), Named{Name: "synthesis.b8.conv2.weight", Tensor: &Tensor{Shape: []int{1}, Data: []float32{1}}})
	if err := mapStyleGAN2(g, s, "G_ema"); err == nil || !strings.Contains(err.Error(), "has synthesis.b8.conv2.weight, which") {
		t.Errorf("a tensor too many: %v", err)
	}
}

// persistentObj builds what NVIDIA's persistence pickles for a module.
func persistentObj(class string, attrs map[string]any, mods map[string]any) *pickle.Object {
	st := &pickle.Dict{}
	for k, v := range attrs {
		st.Set(k, v)
	}
	md := &pickle.Dict{}
	for k, v := range mods {
		md.Set(k, v)
	}
	st.Set("_modules", md)
	meta := &pickle.Dict{}
	meta.Set("type", "class")
	meta.Set("class_name", class)
	meta.Set("state", st)
	return &pickle.Object{Callable: &pickle.Global{Module: "torch_utils.persistence", Name: "_reconstruct_persistent_obj"}, Args: pickle.Tuple{meta}}
}

// TestStyleGAN3Refused: a StyleGAN3 generator (its synthesis network starts
// from a SynthesisInput, layers named L0_36_512, …) is named as such.
func TestStyleGAN3Refused(t *testing.T) {
	syn := persistentObj("SynthesisNetwork", nil, map[string]any{
		"input":     persistentObj("SynthesisInput", nil, nil),
		"L0_36_512": persistentObj("SynthesisLayer", nil, nil),
	})
	g := persistentObj("Generator", map[string]any{"z_dim": int64(512), "c_dim": int64(0), "w_dim": int64(512), "img_resolution": int64(1024), "img_channels": int64(3)},
		map[string]any{"synthesis": syn, "mapping": persistentObj("MappingNetwork", nil, nil)})
	p, err := asPersistent(g, "G_ema")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := styleConfig(p, "G_ema"); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "StyleGAN3") {
		t.Fatalf("error %v", err)
	}
}

// FuzzImportStyleGAN2 feeds arbitrary bytes to the network-pickle importer:
// an error of one line is fine, a panic or a huge allocation is not. Seeds:
// the fixtures of testdata/stylegan2.
//
//	go test ./interop/torch -run '^$' -fuzz '^FuzzImportStyleGAN2$' -fuzztime 5m -fuzzminimizetime 5s -parallel 1
func FuzzImportStyleGAN2(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "stylegan2", "*.pkl"))
	for _, p := range paths {
		if strings.Contains(p, "rgb32") {
			continue // 230 KB: the smaller ones fuzz faster
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("\x80\x02ctorch.storage\n_load_from_bytes\n)R."))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := ImportStyleGAN2(data, StyleGAN2Options{MaxBytes: 1 << 24})
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("error on two lines: %q", err)
		}
	})
}
