// Package ppl measures the perceptual path length of a generator (Karras
// et al. 2019, StyleGAN): how much its images change along small steps
// between two latents, so that the smoothness of a latent space is a
// number that a dcgan, a vae and a stylegan can be compared by.
//
// For each of N pairs of latents z₀, z₁ ~ N(0, I) and t ~ U(0, 1) it
// takes the interpolation at t and at t + ε (ε = 1e-4) — slerp in z for
// dcgan, cdcgan and vae generators (latent.Slerp, which also interpolates
// the norms, since their z is not normalised), lerp in W for a stylegan —
// and the squared distance d between the two images divided by ε². The
// distance is measured in a feature Space: forger uses the face judge's
// penultimate features (JudgeSpace), where StyleGAN uses LPIPS's VGG
// features, so the numbers compare models under the same judge, not with
// published PPLs. The result is the mean of the d that lie between their
// 1st and 99th percentiles, as StyleGAN trims outliers.
package ppl

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"forger/gan"
	"forger/internal/opterr"
	"forger/judge"
	"forger/latent"
	"forger/stylegan"
	"forger/tensor"
)

// DefaultPairs is the number of latent pairs of a measurement (StyleGAN's
// 100,000 take hours on a CPU; the trimmed mean of 10,000 varies by about
// a percent from seed to seed).
const DefaultPairs = 10000

// Epsilon is the step along the path, StyleGAN's 1e-4.
const Epsilon = 1e-4

// Options set up a measurement.
type Options struct {
	Pairs   int     // latent pairs (default DefaultPairs)
	Epsilon float64 // the step (default Epsilon)
	Seed    uint64  // the latents, classes and t are drawn from it
	Batch   int     // pairs rendered at once (default 50)
}

// Result is a measurement. Its JSON names are forger eval's contract.
type Result struct {
	PPL   float64 `json:"ppl"`
	Pairs int     `json:"ppl_n"`
	// Space says where the path was walked and measured, e.g. "slerp in z,
	// distance in the face judge's features".
	Space string `json:"ppl_space"`
}

// A Space measures images: Embed returns the features of n images (the
// generator's output, n·size·size·channels values in about [-1, 1]),
// [n, Dim()] row-major.
type Space interface {
	Embed(ctx context.Context, images []float32, size, channels int) ([]float32, error)
	Dim() int
	// Name says what the space is, for Result.Space.
	Name() string
}

// An OptionError reports an option value ppl cannot use.
type OptionError = opterr.Error

// ErrSize is wrapped when a generator's images are not the size a Space
// reads: resizing (and the 8-bit rounding that eval's fd applies) would
// blur steps of 1e-4 away.
var ErrSize = errors.New("ppl: the generator's image size is not the judge's")

// Measure computes the perceptual path length of g (in inference mode) in
// space sp. progress, if not nil, is called with the number of pairs done
// since its last call. It stops with ctx's error between batches. The same
// seed gives the same number.
func Measure(ctx context.Context, g gan.GeneratorNet, sp Space, o Options, progress func(delta int)) (Result, error) {
	if o.Pairs == 0 {
		o.Pairs = DefaultPairs
	}
	if o.Epsilon == 0 {
		o.Epsilon = Epsilon
	}
	if o.Batch <= 0 {
		o.Batch = 50
	}
	if o.Pairs < 3 {
		return Result{}, &OptionError{Pkg: "ppl", Option: "Pairs", Value: o.Pairs, Reason: "must be at least 3 (the 1% and 99% trim needs some)"}
	}
	if !(o.Epsilon > 0) || o.Epsilon > 0.1 {
		return Result{}, &OptionError{Pkg: "ppl", Option: "Epsilon", Value: o.Epsilon, Reason: "must be in (0, 0.1]"}
	}
	cfg := g.ModelConfig()
	sg, inW := g.(*gan.StyleGenerator)
	where := "slerp in z"
	if inW {
		where = "lerp in w"
	}
	res := Result{Pairs: o.Pairs, Space: where + ", distance in " + sp.Name()}
	g.SetTraining(false)
	rng := rand.New(rand.NewPCG(o.Seed, 0x991))
	nz := cfg.NZ
	z0, z1 := make([]float32, nz), make([]float32, nz)
	d := make([]float64, 0, o.Pairs)
	for lo := 0; lo < o.Pairs; lo += o.Batch {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		b := min(o.Batch, o.Pairs-lo)
		// Rows 0..b-1 are the paths at t, rows b..2b-1 at t + ε.
		zs := tensor.New(2*b, nz)
		ts := make([]float64, b)
		var labels []int32
		if cfg.Conditional() {
			labels = make([]int32, 2*b)
		}
		var z0s, z1s *tensor.Tensor // a stylegan's ends
		if inW {
			z0s, z1s = tensor.New(b, nz), tensor.New(b, nz)
		}
		for i := range b {
			for k := range nz {
				z0[k] = float32(rng.NormFloat64())
			}
			for k := range nz {
				z1[k] = float32(rng.NormFloat64())
			}
			t := rng.Float64()
			ts[i] = t
			if labels != nil {
				c := int32(rng.IntN(len(cfg.Classes)))
				labels[i], labels[b+i] = c, c
			}
			if inW {
				copy(z0s.Data[i*nz:], z0)
				copy(z1s.Data[i*nz:], z1)
				continue
			}
			latent.Slerp(zs.Data[i*nz:(i+1)*nz], z0, z1, t)
			latent.Slerp(zs.Data[(b+i)*nz:(b+i+1)*nz], z0, z1, t+o.Epsilon)
		}
		var imgs *tensor.Tensor
		if inW {
			imgs = renderW(sg, z0s, z1s, ts, o.Epsilon)
		} else {
			imgs = g.Forward(zs, labels)
		}
		feats, err := sp.Embed(ctx, imgs.Data, cfg.Size, cfg.Channels)
		if err != nil {
			return Result{}, err
		}
		k := sp.Dim()
		for i := range b {
			fa, fb := feats[i*k:(i+1)*k], feats[(b+i)*k:(b+i+1)*k]
			var s float64
			for j := range fa {
				x := float64(fa[j]) - float64(fb[j])
				s += x * x
			}
			d = append(d, s/(o.Epsilon*o.Epsilon))
		}
		if progress != nil {
			progress(b)
		}
	}
	res.PPL = TrimmedMean(d)
	return res, nil
}

// renderW renders a stylegan's paths in W: rows 0..b-1 of the images are
// lerp(w(z₀), w(z₁), t), rows b..2b-1 the same at t + eps, for z₀ and z₁
// the rows of z0s and z1s.
func renderW(g *gan.StyleGenerator, z0s, z1s *tensor.Tensor, ts []float64, eps float64) *tensor.Tensor {
	b := len(ts)
	w0 := g.Mapping.Forward(z0s).Clone()
	w1 := g.Mapping.Forward(z1s)
	wd := w1.Shape[1]
	w := tensor.New(2*b, wd)
	for i, t := range ts {
		a, e := w0.Data[i*wd:(i+1)*wd], w1.Data[i*wd:(i+1)*wd]
		latent.Lerp(w.Data[i*wd:(i+1)*wd], a, e, t)
		latent.Lerp(w.Data[(b+i)*wd:(b+i+1)*wd], a, e, t+eps)
	}
	return g.Synthesis.Forward(stylegan.Broadcast(nil, w, g.NumWs()))
}

// TrimmedMean is the mean of the values between the 1st and the 99th
// percentile of d, inclusive (NumPy's "lower" and "higher" percentiles, as
// StyleGAN's metric takes them). d is not changed.
func TrimmedMean(d []float64) float64 {
	if len(d) == 0 {
		return math.NaN()
	}
	s := slices.Clone(d)
	slices.Sort(s)
	n := len(s)
	lo := s[int(math.Floor(0.01*float64(n-1)))]
	hi := s[int(math.Ceil(0.99*float64(n-1)))]
	var sum float64
	var k int
	for _, v := range d {
		if v >= lo && v <= hi {
			sum += v
			k++
		}
	}
	return sum / float64(k)
}

// JudgeSpace is the feature space of a judge (forger judge train): the
// squared Euclidean distance between its judge.FeatureDim penultimate
// features. Images are fed as floats — not rounded to 8 bits as eval's fd
// does, which would hide steps of ε — after grey images are copied to
// three channels or colour ones reduced to luma, as the judge needs.
type JudgeSpace struct {
	J    *judge.Judge
	name string
	buf  []float32
}

// NewJudgeSpace returns the feature space of j; name says what j is
// ("the face judge's features").
func NewJudgeSpace(j *judge.Judge, name string) *JudgeSpace {
	return &JudgeSpace{J: j, name: name}
}

// Dim is judge.FeatureDim.
func (s *JudgeSpace) Dim() int { return judge.FeatureDim }

// Name says what the space is.
func (s *JudgeSpace) Name() string { return s.name }

// Embed returns the judge's features of the images; a size other than the
// judge's wraps ErrSize.
func (s *JudgeSpace) Embed(ctx context.Context, images []float32, size, channels int) ([]float32, error) {
	c := s.J.Cfg
	if size != c.Size {
		return nil, fmt.Errorf("%w: %d×%d against %d×%d", ErrSize, size, size, c.Size, c.Size)
	}
	x := images
	if channels != c.Channels {
		px := len(images) / channels
		s.buf = slices.Grow(s.buf[:0], px*c.Channels)[:px*c.Channels]
		for i := range px {
			if channels == 1 {
				v := images[i]
				s.buf[3*i], s.buf[3*i+1], s.buf[3*i+2] = v, v, v
			} else {
				r, g, b := images[3*i], images[3*i+1], images[3*i+2]
				s.buf[i] = 0.299*r + 0.587*g + 0.114*b
			}
		}
		x = s.buf
	}
	p, err := s.J.Predict(ctx, x, nil)
	if err != nil {
		return nil, err
	}
	return p.Feats, nil
}
