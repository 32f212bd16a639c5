package torch

import (
	"errors"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"forger/gan"
	"forger/interop/pickle"
	"forger/tensor"
)

// The fixtures were made by scripts/interop/pytorch_dcgan_fixture.py (see
// its docstring) under Debian's python3-torch 1.13; no test needs torch.

func readExpected(t *testing.T, dir string) *tensor.File {
	t.Helper()
	fh, err := os.Open(filepath.Join(dir, "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	f, err := tensor.ReadSafetensors(fh)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func loadSD(t *testing.T, path string) []Named {
	t.Helper()
	v, err := LoadFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := StateDict(v)
	if err != nil {
		t.Fatal(err)
	}
	return sd
}

// compare runs the imported G (and D) on the fixture's z and returns the max
// abs differences from PyTorch's images and D outputs.
func compare(t *testing.T, ck *gan.Checkpoint, exp *tensor.File) (dimg, dd float64) {
	t.Helper()
	z := exp.Tensors["z"]
	n := z.Shape[0]
	var labels []int32
	if l := exp.Tensors["labels"]; l != nil {
		for _, v := range l.Data {
			labels = append(labels, int32(v))
		}
	}
	ck.G.SetTraining(false)
	img := ck.G.Forward(z, labels) // NHWC
	want := exp.Tensors["images"]  // NCHW
	c, h, w := want.Shape[1], want.Shape[2], want.Shape[3]
	if img.Len() != want.Len() {
		t.Fatalf("G output %v, PyTorch's %v", img.Shape, want.Shape)
	}
	for i := range n {
		for ch := range c {
			for y := range h {
				for x := range w {
					a := img.Data[((i*h+y)*w+x)*c+ch]
					b := want.Data[((i*c+ch)*h+y)*w+x]
					dimg = math.Max(dimg, math.Abs(float64(a-b)))
				}
			}
		}
	}
	if d := exp.Tensors["d_out"]; d != nil {
		ck.D.SetTraining(false)
		logits := ck.D.Forward(img, labels)
		for i := range n {
			p := 1 / (1 + math.Exp(-float64(logits.Data[i])))
			dd = math.Max(dd, math.Abs(p-float64(d.Data[i])))
		}
	}
	return dimg, dd
}

func TestImportDCGAN64Zip(t *testing.T) {
	dir := filepath.Join("testdata", "dcgan64")
	g := loadSD(t, filepath.Join(dir, "netG_epoch_0.pth"))
	d := loadSD(t, filepath.Join(dir, "netD_epoch_0.pth"))
	ck, notes, err := ImportDCGAN(g, d, DCGANOptions{Arch: gan.DCGAN})
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 0 {
		t.Errorf("notes %v", notes)
	}
	if ck.Config.NZ != 8 || ck.Config.NGF != 2 || ck.Config.NDF != 2 || ck.Config.Size != 64 || ck.Config.Channels != 3 {
		t.Fatalf("config %+v", ck.Config)
	}
	dimg, dd := compare(t, ck, readExpected(t, dir))
	t.Logf("max abs difference from PyTorch: images %.3g, D %.3g", dimg, dd)
	if dimg > 1e-4 || dd > 1e-4 {
		t.Fatalf("images differ by %g, D by %g (want ≤ 1e-4)", dimg, dd)
	}

	// The checkpoint written is what generate reads.
	out := filepath.Join(t.TempDir(), "imported.safetensors")
	if err := ck.Save(out); err != nil {
		t.Fatal(err)
	}
	g2, err := gan.LoadGenerator(out)
	if err != nil {
		t.Fatal(err)
	}
	ck.G = g2
	if dimg2, _ := compare(t, ck, readExpected(t, dir)); dimg2 != dimg {
		t.Fatalf("after saving: %g, before %g", dimg2, dimg)
	}
}

func TestImportCDCGAN28Legacy(t *testing.T) {
	dir := filepath.Join("testdata", "cdcgan28")
	sd := loadSD(t, filepath.Join(dir, "checkpoint.pth")) // {"netG": …, "netD": …}, legacy format
	g, d, err := Split(sd)
	if err != nil {
		t.Fatal(err)
	}
	ck, _, err := ImportDCGAN(g, d, DCGANOptions{Arch: gan.CDCGAN, Size: 28, NZ: 8})
	if err != nil {
		t.Fatal(err)
	}
	if len(ck.Config.Classes) != 3 || ck.Config.Channels != 1 {
		t.Fatalf("config %+v", ck.Config)
	}
	dimg, dd := compare(t, ck, readExpected(t, dir))
	t.Logf("max abs difference from PyTorch: images %.3g, D %.3g", dimg, dd)
	if dimg > 1e-4 || dd > 1e-4 {
		t.Fatalf("images differ by %g, D by %g (want ≤ 1e-4)", dimg, dd)
	}
}

func TestImportRefusesWithTheKey(t *testing.T) {
	dir := filepath.Join("testdata", "dcgan64")
	g := loadSD(t, filepath.Join(dir, "netG_epoch_0.pth"))
	// A key of another network.
	bad := append([]Named{}, g...)
	bad = append(bad, Named{"main.14.weight", &Tensor{Shape: []int{3, 5}, Data: make([]float32, 15)}})
	_, _, err := ImportDCGAN(bad, nil, DCGANOptions{Arch: gan.DCGAN})
	if err == nil || !strings.Contains(err.Error(), "main.14.weight [3 5]") {
		t.Fatalf("got %v", err)
	}
	// A wrong size.
	_, _, err = ImportDCGAN(g, nil, DCGANOptions{Arch: gan.DCGAN, Size: 32})
	if err == nil || !strings.Contains(err.Error(), "main.0.weight [8 16 4 4]") {
		t.Fatalf("got %v", err)
	}
	// A wrong nz.
	_, _, err = ImportDCGAN(g, nil, DCGANOptions{Arch: gan.DCGAN, NZ: 100})
	var oe *OptionError
	if !errors.As(err, &oe) || oe.Option != "NZ" || oe.Value != 100 || !strings.Contains(err.Error(), "takes 8 inputs") {
		t.Fatalf("got %v", err)
	}
	// The discriminator given as the generator.
	d := loadSD(t, filepath.Join(dir, "netD_epoch_0.pth"))
	_, _, err = ImportDCGAN(d, nil, DCGANOptions{Arch: gan.DCGAN})
	if err == nil || !strings.Contains(err.Error(), "main.11.weight [1 16 4 4]") {
		t.Fatalf("got %v", err)
	}
}

func TestLoadRefuses(t *testing.T) {
	tar := make([]byte, 1024)
	copy(tar[257:], "ustar")
	for name, data := range map[string][]byte{
		"empty":  nil,
		"text":   []byte("hello"),
		"tar":    tar,
		"pickle": {0x80, 2, 'K', 1, '.'},
		"zip":    []byte("PK\x03\x04 not really"),
	} {
		if _, err := Load(data, nil); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

var runDir = flag.String("run-dir", "", "a folder written by pytorch_dcgan_fixture.py (e.g. the 2-minute 64×64 run) to check")

// TestPyTorchRun checks a full-size run made by the fixture script: go test
// ./interop/torch -run PyTorchRun -args -run-dir DIR.
func TestPyTorchRun(t *testing.T) {
	if *runDir == "" {
		t.Skip("no -run-dir")
	}
	g := loadSD(t, filepath.Join(*runDir, "netG_epoch_0.pth"))
	d := loadSD(t, filepath.Join(*runDir, "netD_epoch_0.pth"))
	ck, _, err := ImportDCGAN(g, d, DCGANOptions{Arch: gan.DCGAN})
	if err != nil {
		t.Fatal(err)
	}
	dimg, dd := compare(t, ck, readExpected(t, *runDir))
	t.Logf("%+v: max abs difference from PyTorch: images %.3g, D %.3g", ck.Config, dimg, dd)
	if dimg > 1e-4 || dd > 1e-4 {
		t.Fatalf("images differ by %g, D by %g (want ≤ 1e-4)", dimg, dd)
	}
}

func TestValueCounts(t *testing.T) {
	for _, cfg := range []gan.Config{
		{Arch: gan.DCGAN, Size: 64, Channels: 3, NZ: 100, NGF: 64, NDF: 64},
		{Arch: gan.DCGAN, Size: 32, Channels: 1, NZ: 10, NGF: 8, NDF: 4},
		{Arch: gan.CDCGAN, Size: 28, Channels: 1, NZ: 100, NGF: 64, NDF: 64, Classes: make([]string, 10), GCond: gan.GCondOneHot, DCond: gan.DCondInput},
	} {
		ck, err := gan.NewGenerator(cfg, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, nt := range ck.Tensors("g") {
			n += int64(nt.Tensor.Len())
		}
		if got := genValues(cfg); got != n {
			t.Errorf("%+v: genValues %d, generator has %d", cfg, got, n)
		}
	}
}

// TestLoadPickle reads a plain pickle shaped like NVIDIA's network pickles
// (made by scripts/interop/pickle_fixtures.py): objects with __dict__ state,
// a dict subclass, tensors of _load_from_bytes storages, a strided view and
// float16.
func TestLoadPickle(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "plain", "network_p4.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := LoadPickle(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	root := v.(*pickle.Dict)
	gv, _ := root.Get("G_ema")
	g := gv.(*pickle.Object)
	if g.ClassName() != "__main__.Network" {
		t.Fatalf("class %q", g.ClassName())
	}
	st := g.State.(*pickle.Dict)
	w, _ := st.Get("weight")
	wt := w.(*Tensor)
	// arange(12).reshape(3, 4).t(): [4, 3], element [i][j] = 4j + i.
	if !same(wt.Shape, []int{4, 3}) || wt.Data[1] != 4 || wt.Data[3] != 1 {
		t.Fatalf("weight %v %v", wt.Shape, wt.Data)
	}
	h, _ := st.Get("half")
	if ht := h.(*Tensor); ht.Dtype != "float16" || ht.Data[0] != 1.5 || ht.Data[1] != -2.25 {
		t.Fatalf("half %+v", ht)
	}
	a, _ := st.Get("w_avg")
	if at := a.(*Tensor); !same(at.Shape, []int{2, 3}) || math.Abs(float64(at.Data[5])-0.5) > 1e-7 {
		t.Fatalf("w_avg %+v", at)
	}
	kw, _ := st.Get("init_kwargs")
	if o, ok := kw.(*pickle.Object); !ok || o.DictItems == nil {
		t.Fatalf("init_kwargs %s", pickle.TypeName(kw))
	}
}

// TestStateDictPersistent: a module pickled by NVIDIA's
// torch_utils.persistence is found by StateDict (part 3 of issue 20 will
// meet it in real network pickles).
func TestStateDictPersistent(t *testing.T) {
	w := &Tensor{Dtype: "float32", Shape: []int{2}, Data: []float32{1, 2}}
	params := &pickle.Dict{}
	params.Set("weight", w)
	inner := &pickle.Dict{}
	inner.Set("_parameters", params)
	inner.Set("_buffers", &pickle.Dict{})
	inner.Set("_modules", &pickle.Dict{})
	meta := &pickle.Dict{}
	meta.Set("type", "class")
	meta.Set("state", inner)
	fc := &pickle.Object{Callable: &pickle.Global{Module: "torch_utils.persistence", Name: "_reconstruct_persistent_obj"}, Args: pickle.Tuple{meta}}
	mods := &pickle.Dict{}
	mods.Set("fc", fc)
	outer := &pickle.Dict{}
	outer.Set("_parameters", &pickle.Dict{})
	outer.Set("_modules", mods)
	root := &pickle.Dict{}
	root.Set("G_ema", &pickle.Object{Callable: &pickle.Global{Module: "__main__", Name: "Net"}, State: outer})
	sd, err := StateDict(root)
	if err != nil || len(sd) != 1 || sd[0].Name != "G_ema.fc.weight" {
		t.Fatalf("%v %v", sd, err)
	}
}
