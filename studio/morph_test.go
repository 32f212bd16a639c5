package studio

import (
	"math"
	"math/rand/v2"
	"testing"

	"forger/gan"
	"forger/latent"
	"forger/stylegan"
)

// morphLatents is morphCodes for a DCGAN whose z has nz values, as one
// tensor's rows.
func morphLatents(nz int, from, to int64, psi float64, frames int) (*struct {
	Shape []int
	Data  []float32
}, error) {
	g, err := gan.NewGenerator(gan.Config{Arch: gan.DCGAN, Size: 28, Channels: 1, NZ: nz, NGF: 8, NDF: 8}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		return nil, err
	}
	codes, err := morphCodes(g, nil, from, to, psi, frames)
	if err != nil {
		return nil, err
	}
	out := &struct {
		Shape []int
		Data  []float32
	}{Shape: []int{len(codes), nz}}
	for _, c := range codes {
		out.Data = append(out.Data, c.Z...)
	}
	return out, nil
}

// A stylegan's web morph walks W linearly, as forger morph does for it:
// its ends are the seeds' w and its midpoint their mean.
func TestMorphCodesOfAStyleGANWalkW(t *testing.T) {
	sc := stylegan.DefaultConfig(8, 3)
	sc.ZDim, sc.WDim, sc.MappingLayers, sc.ChannelBase, sc.ChannelMax = 8, 8, 2, 64, 16
	g, err := gan.NewStyleGenerator(gan.StyleConfig(sc), rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	g.SetTraining(false)
	codes, err := morphCodes(g, nil, 1, 2, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := latent.ToSpace(g, latent.FromSeed(g.Cfg, 1, 0), latent.SpaceW)
	b, _ := latent.ToSpace(g, latent.FromSeed(g.Cfg, 2, 0), latent.SpaceW)
	for i := range a.Z {
		if codes[0].Space != latent.SpaceW || codes[0].Z[i] != a.Z[i] || codes[2].Z[i] != b.Z[i] || math.Abs(float64(codes[1].Z[i]-(a.Z[i]+b.Z[i])/2)) > 1e-5 {
			t.Fatalf("value %d: frames %v, %v, %v; ends %v, %v", i, codes[0].Z[i], codes[1].Z[i], codes[2].Z[i], a.Z[i], b.Z[i])
		}
	}
}

// The web morph and forger morph --spherical draw the same frames for the
// same seeds: the studio's latents are the CLI's (latent.FromSeed joined by
// latent.Path), bit for bit.
func TestMorphLatentsMatchForgerMorph(t *testing.T) {
	const nz = 100
	cfg := gan.Config{NZ: nz}
	for _, c := range []struct {
		from, to int64
		frames   int
	}{{1, 2, 16}, {42, -7, 5}, {3, 3, 4}, {0, 1 << 40, 2}} {
		got, err := morphLatents(nz, c.from, c.to, 1, c.frames)
		if err != nil {
			t.Fatal(err)
		}
		// What forger morph --from A --to B --spherical renders.
		want, err := latent.Path([]latent.Code{latent.FromSeed(cfg, c.from, 0), latent.FromSeed(cfg, c.to, 0)}, c.frames, true)
		if err != nil {
			t.Fatal(err)
		}
		if got.Shape[0] != c.frames || got.Shape[1] != nz {
			t.Fatalf("%d→%d: shape %v", c.from, c.to, got.Shape)
		}
		for f, code := range want {
			row := got.Data[f*nz : (f+1)*nz]
			for i := range row {
				if row[i] != code.Z[i] {
					t.Fatalf("%d→%d frame %d: z[%d] = %v, forger morph has %v", c.from, c.to, f, i, row[i], code.Z[i])
				}
			}
		}
	}
}

// The frames are a slerp, not a lerp: the midpoint of two independent seeds
// keeps the length of its ends (a straight line's would be about 1/√2 of it).
func TestMorphLatentsAreSpherical(t *testing.T) {
	const nz = 512
	z, err := morphLatents(nz, 10, 11, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	norm := func(v []float32) float64 {
		var s float64
		for _, x := range v {
			s += float64(x) * float64(x)
		}
		return math.Sqrt(s)
	}
	na, nm, nb := norm(z.Data[:nz]), norm(z.Data[nz:2*nz]), norm(z.Data[2*nz:])
	if math.Abs(nm-(na+nb)/2) > 1e-3*nm {
		t.Errorf("midpoint length %.4f, ends %.4f and %.4f: want their mean", nm, na, nb)
	}
	if _, err := morphLatents(nz, 1, 2, 1, 1); err == nil {
		t.Error("a 1-frame morph: no error")
	}
}
