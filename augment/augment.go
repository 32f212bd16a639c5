// Package augment makes the images a discriminator sees harder to memorise:
// differentiable augmentations applied to real and generated images alike,
// every time D sees them, so that a GAN trains on a few hundred images
// without its discriminator learning them by heart.
//
// The operations are those of DiffAugment (Zhao et al. 2020): colour
// (brightness, saturation, contrast), translation by up to an eighth of the
// image with zero padding, and cutout of a square half the image's side.
// Each is a linear map of the image whose parameters are drawn per image,
// so the generator's gradient passes through it exactly (Backward).
//
// Two policies use them. DiffAugment applies every operation to every
// image. ADA (Karras et al. 2020) applies each operation to an image with
// probability P, and adjusts P during training from the overfitting signal
// r_t = E[sign(D(real))]: up when D is too sure of the real images, down
// otherwise (see Controller). ADA also moves the image's geometry first
// (Geometry): ADA's x-flip, 90° rotations, isotropic and anisotropic
// scaling, rotation and fractional translation, resampled bilinearly with
// reflected borders. Its colour, translation and cutout are DiffAugment's
// rather than ADA's own colour group. Like ADA's, these operations do not
// leak into the generator's images as long as P stays below about 0.8.
//
// Images are NHWC in [-1, 1]; 0 (mid grey) is what padding and cutout fill.
package augment

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"

	"forger/dataset"
	"forger/picture"
	"forger/tensor"
)

// Policies.
const (
	None        = "none"
	DiffAugment = "diffaugment"
	ADA         = "ada"
)

// ErrPolicy is wrapped by Check for an unknown policy name.
var ErrPolicy = errors.New("unknown augmentation policy (use none, diffaugment or ada)")

// Check returns an error wrapping ErrPolicy unless name is a policy.
func Check(name string) error {
	switch name {
	case None, DiffAugment, ADA:
		return nil
	}
	return fmt.Errorf("%q: %w", name, ErrPolicy)
}

// op says which operations one image gets, with their parameters.
type op struct {
	colour                bool
	bright, sat, contrast float32
	translate             bool
	dy, dx                int
	cutout                bool
	cy, cx                int // the square's top-left corner (may be negative)
	geom                  bool
	m                     affine // output pixel → input pixel
}

// Augmenter applies the operations to batches of images. P is the
// probability of each operation per image (1 for DiffAugment). Geometry
// adds ADA's geometric operations (each with probability P) before the
// others. It keeps what Backward needs of the last Forward; it is not safe
// for concurrent use.
type Augmenter struct {
	P        float64
	Geometry bool

	ops   []op
	shape []int
	y, dx *tensor.Tensor
	row   []float32 // scratch for shift
	tmp   []float32 // scratch for Backward's resampling
}

// New returns an augmenter applying each operation with probability p.
func New(p float64) *Augmenter { return &Augmenter{P: p} }

// For returns the augmenter of a policy at probability p: ADA's moves the
// geometry too. It returns nil for None.
func For(policy string, p float64) *Augmenter {
	switch policy {
	case DiffAugment:
		return New(p)
	case ADA:
		return &Augmenter{P: p, Geometry: true}
	}
	return nil
}

// Fraction of the side by which translation moves an image at most, and
// the side of cutout's square, as DiffAugment's defaults.
const (
	translateRatio = 0.125
	cutoutRatio    = 0.5
)

// Forward returns augmented copies of the images x [N, H, W, C], each with
// its own random operations drawn from rng. The result is owned by the
// augmenter until the next Forward.
func (a *Augmenter) Forward(x *tensor.Tensor, rng *rand.Rand) *tensor.Tensor {
	n, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	a.shape = append(a.shape[:0], x.Shape...)
	if cap(a.ops) < n {
		a.ops = make([]op, n)
	}
	a.ops = a.ops[:n]
	a.y = tensor.Ensure(a.y, x.Shape...)
	if !a.Geometry {
		copy(a.y.Data, x.Data)
	}
	per := h * w * c
	sh, sw := int(float64(h)*translateRatio+0.5), int(float64(w)*translateRatio+0.5)
	ch, cw := int(float64(h)*cutoutRatio+0.5), int(float64(w)*cutoutRatio+0.5)
	for i := range n {
		o := op{}
		img := a.y.Data[i*per : (i+1)*per]
		if a.Geometry {
			src := x.Data[i*per : (i+1)*per]
			if o.m, o.geom = a.drawGeometry(rng, h, w); o.geom {
				resample(img, src, h, w, c, &o.m)
			} else {
				copy(img, src)
			}
		}
		// Every draw is made whether or not the operation applies, so the
		// random stream does not depend on P.
		use := [3]float64{rng.Float64(), rng.Float64(), rng.Float64()}
		bright, sat, con := rng.Float64(), rng.Float64(), rng.Float64()
		ty, tx := rng.IntN(2*sh+1)-sh, rng.IntN(2*sw+1)-sw
		cy, cx := rng.IntN(h+(1-ch%2)), rng.IntN(w+(1-cw%2))
		if use[0] < a.P {
			o.colour = true
			o.bright = float32(bright - 0.5)
			o.sat = float32(2 * sat)
			o.contrast = float32(con + 0.5)
			for k := range img {
				img[k] += o.bright
			}
			if c > 1 {
				for p := 0; p < h*w; p++ {
					px := img[p*c : (p+1)*c]
					var m float32
					for _, v := range px {
						m += v
					}
					m /= float32(c)
					for k := range px {
						px[k] = (px[k]-m)*o.sat + m
					}
				}
			}
			var m float64
			for _, v := range img {
				m += float64(v)
			}
			mean := float32(m / float64(per))
			for k := range img {
				img[k] = (img[k]-mean)*o.contrast + mean
			}
		}
		if use[1] < a.P && (ty != 0 || tx != 0) {
			o.translate, o.dy, o.dx = true, ty, tx
			a.shift(img, h, w, c, ty, tx)
		}
		if use[2] < a.P {
			o.cutout = true
			o.cy, o.cx = cy-ch/2, cx-cw/2
			for y := max(o.cy, 0); y < min(o.cy+ch, h); y++ {
				clear(img[(y*w+max(o.cx, 0))*c : (y*w+min(o.cx+cw, w))*c])
			}
		}
		a.ops[i] = o
	}
	return a.y
}

// Spreads of ADA's geometric operations: the log2 standard deviation of
// isotropic and anisotropic scaling, and the standard deviation of the
// fractional translation as a fraction of the side.
const (
	scaleStd     = 0.2
	anisoStd     = 0.2
	translateStd = 0.125
)

// affine maps output pixel coordinates to input ones: (x, y) →
// (m0·x + m1·y + m2, m3·x + m4·y + m5).
type affine [6]float64

// then returns a·b: the output-to-input map a of the transforms so far,
// followed by b, the inverse of the next transform.
func (a affine) then(b affine) affine {
	return affine{
		a[0]*b[0] + a[1]*b[3], a[0]*b[1] + a[1]*b[4], a[0]*b[2] + a[1]*b[5] + a[2],
		a[3]*b[0] + a[4]*b[3], a[3]*b[1] + a[4]*b[4], a[3]*b[2] + a[4]*b[5] + a[5],
	}
}

func rotation(theta float64) affine {
	s, c := math.Sincos(theta)
	return affine{c, -s, 0, s, c, 0}
}

// drawGeometry draws one image's geometric operations as ADA does, each
// with probability P (the rotations with 1 − √(1 − P) each, so that one of
// the two happens with P), and returns the output-to-input map about the
// image's centre and whether it moves anything. Every draw is made whatever
// P is.
func (a *Augmenter) drawGeometry(rng *rand.Rand, h, w int) (affine, bool) {
	var use [7]float64
	for k := range use {
		use[k] = rng.Float64()
	}
	flip, quarter := rng.IntN(2), rng.IntN(4)
	scale, theta1, aniso, theta2 := rng.NormFloat64(), (2*rng.Float64()-1)*math.Pi, rng.NormFloat64(), (2*rng.Float64()-1)*math.Pi
	tx, ty := rng.NormFloat64()*translateStd*float64(w), rng.NormFloat64()*translateStd*float64(h)
	pRot := 1 - math.Sqrt(1-a.P)
	m := affine{1, 0, 0, 0, 1, 0}
	moved := false
	if use[0] < a.P && flip == 1 {
		m, moved = m.then(affine{-1, 0, 0, 0, 1, 0}), true
	}
	if use[1] < a.P && quarter != 0 {
		m, moved = m.then(rotation(-float64(quarter)*math.Pi/2)), true
	}
	if use[2] < a.P {
		s := math.Exp2(-scale * scaleStd)
		m, moved = m.then(affine{s, 0, 0, 0, s, 0}), true
	}
	if use[3] < pRot {
		m, moved = m.then(rotation(-theta1)), true
	}
	if use[4] < a.P {
		s := math.Exp2(aniso * anisoStd)
		m, moved = m.then(affine{1 / s, 0, 0, 0, s, 0}), true
	}
	if use[5] < pRot {
		m, moved = m.then(rotation(-theta2)), true
	}
	if use[6] < a.P {
		m, moved = m.then(affine{1, 0, -tx, 0, 1, -ty}), true
	}
	return m.centred(h, w), moved
}

// centred returns m about the centre of an h×w image: input = c + m·(output − c).
func (m affine) centred(h, w int) affine {
	cx, cy := float64(w-1)/2, float64(h-1)/2
	m[2] += cx - m[0]*cx - m[1]*cy
	m[5] += cy - m[3]*cx - m[4]*cy
	return m
}

// reflect folds a coordinate into [0, n) by mirroring at the edges without
// repeating them (PyTorch's reflect padding), however far outside it is.
func reflect(i, n int) int {
	if n == 1 {
		return 0
	}
	period := 2 * (n - 1)
	i %= period
	if i < 0 {
		i += period
	}
	if i >= n {
		i = period - i
	}
	return i
}

// taps returns the four input pixels (already reflected) and bilinear
// weights that make output pixel (x, y) under m.
func taps(m *affine, x, y, h, w int) (idx [4]int, wt [4]float32) {
	sx := m[0]*float64(x) + m[1]*float64(y) + m[2]
	sy := m[3]*float64(x) + m[4]*float64(y) + m[5]
	x0, y0 := math.Floor(sx), math.Floor(sy)
	fx, fy := float32(sx-x0), float32(sy-y0)
	ix, iy := int(x0), int(y0)
	xa, xb := reflect(ix, w), reflect(ix+1, w)
	ya, yb := reflect(iy, h), reflect(iy+1, h)
	idx = [4]int{ya*w + xa, ya*w + xb, yb*w + xa, yb*w + xb}
	wt = [4]float32{(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy}
	return idx, wt
}

// resample writes into dst the image src seen through m.
func resample(dst, src []float32, h, w, c int, m *affine) {
	for y := range h {
		for x := range w {
			idx, wt := taps(m, x, y, h, w)
			out := dst[(y*w+x)*c : (y*w+x+1)*c]
			for k := range out {
				out[k] = wt[0]*src[idx[0]*c+k] + wt[1]*src[idx[1]*c+k] + wt[2]*src[idx[2]*c+k] + wt[3]*src[idx[3]*c+k]
			}
		}
	}
}

// resampleT is resample's transpose: it writes into dst the gradient with
// respect to src given the gradient g with respect to dst.
func resampleT(dst, g []float32, h, w, c int, m *affine) {
	clear(dst)
	for y := range h {
		for x := range w {
			idx, wt := taps(m, x, y, h, w)
			gin := g[(y*w+x)*c : (y*w+x+1)*c]
			for t := range idx {
				o := dst[idx[t]*c : (idx[t]+1)*c]
				for k, v := range gin {
					o[k] += wt[t] * v
				}
			}
		}
	}
}

// shift moves an image by (dy, dx) pixels, filling with 0, in place.
func (a *Augmenter) shift(img []float32, h, w, c, dy, dx int) {
	if cap(a.row) < w*c {
		a.row = make([]float32, w*c)
	}
	row := a.row[:w*c]
	if dy > 0 {
		for y := h - 1; y >= 0; y-- {
			shiftRow(img, row, y, y-dy, h, w, c, dx)
		}
	} else {
		for y := 0; y < h; y++ {
			shiftRow(img, row, y, y-dy, h, w, c, dx)
		}
	}
}

// shiftRow writes row src of img, moved by dx, into row dst (0 when src is
// outside the image).
func shiftRow(img, tmp []float32, dst, src, h, w, c, dx int) {
	out := img[dst*w*c : (dst+1)*w*c]
	if src < 0 || src >= h {
		clear(out)
		return
	}
	copy(tmp, img[src*w*c:(src+1)*w*c])
	clear(out)
	for x := max(0, dx); x < min(w, w+dx); x++ {
		copy(out[x*c:(x+1)*c], tmp[(x-dx)*c:(x-dx+1)*c])
	}
}

// Backward returns the gradient with respect to the last Forward's input,
// given the gradient dy with respect to its output.
func (a *Augmenter) Backward(dy *tensor.Tensor) *tensor.Tensor {
	n, h, w, c := a.shape[0], a.shape[1], a.shape[2], a.shape[3]
	per := h * w * c
	a.dx = tensor.Ensure(a.dx, a.shape...)
	copy(a.dx.Data, dy.Data)
	ch, cw := int(float64(h)*cutoutRatio+0.5), int(float64(w)*cutoutRatio+0.5)
	for i := range n {
		o := a.ops[i]
		g := a.dx.Data[i*per : (i+1)*per]
		if o.cutout {
			for y := max(o.cy, 0); y < min(o.cy+ch, h); y++ {
				clear(g[(y*w+max(o.cx, 0))*c : (y*w+min(o.cx+cw, w))*c])
			}
		}
		if o.translate {
			a.shift(g, h, w, c, -o.dy, -o.dx)
			// Pixels that the forward shift dropped get no gradient; the
			// inverse shift fills exactly those with 0.
		}
		if o.colour {
			// out = (v − m)·k + m with m the mean of v: dv = k·dout + (1 − k)·mean(dout).
			var m float64
			for _, v := range g {
				m += float64(v)
			}
			mean := float32(m / float64(per))
			for k := range g {
				g[k] = o.contrast*g[k] + (1-o.contrast)*mean
			}
			if c > 1 {
				for p := 0; p < h*w; p++ {
					px := g[p*c : (p+1)*c]
					var s float32
					for _, v := range px {
						s += v
					}
					s /= float32(c)
					for k := range px {
						px[k] = o.sat*px[k] + (1-o.sat)*s
					}
				}
			}
		}
		if o.geom {
			a.tmp = append(a.tmp[:0], g...)
			resampleT(g, a.tmp, h, w, c, &o.m)
		}
	}
	return a.dx
}

// Applied returns the share of the last batch's images that got at least
// one operation.
func (a *Augmenter) Applied() float64 {
	if len(a.ops) == 0 {
		return 0
	}
	k := 0
	for _, o := range a.ops {
		if o.colour || o.translate || o.cutout || o.geom {
			k++
		}
	}
	return float64(k) / float64(len(a.ops))
}

// Controller adjusts an Augmenter's P from the sign of D's logits on real images,
// as StyleGAN2-ADA does: every Interval D steps, P moves by
// sign(r_t − Target) · (images in the interval) / (Speed images), where r_t
// is the mean sign of the real logits over the interval, and stays in [0, 1].
type Controller struct {
	Target   float64 // r_t that P aims for (0.6)
	Interval int     // D steps between adjustments (4)
	Speed    float64 // images over which P can go from 0 to 1 (100,000)

	// Rt is the last interval's r_t.
	Rt float64

	sum   float64
	count int
	steps int
}

// NewController returns the controller with StyleGAN2-ADA's target and interval.
// forger's default Speed is a fifth of ADA's 500k images: a CPU run sees a
// few hundred thousand images in all, and P has to reach its level within
// the run.
func NewController(target float64) *Controller {
	return &Controller{Target: target, Interval: 4, Speed: 100_000}
}

// ControllerState is what a checkpoint keeps of a Controller, so that a
// resumed run adjusts P as an uninterrupted one would.
type ControllerState struct {
	Rt    float64 `json:"rt"`
	Sum   float64 `json:"sum"`
	Count int     `json:"count"`
	Steps int     `json:"steps"`
}

// State returns the controller's position within its interval.
func (c *Controller) State() ControllerState {
	return ControllerState{Rt: c.Rt, Sum: c.sum, Count: c.count, Steps: c.steps}
}

// SetState continues from a saved position.
func (c *Controller) SetState(s ControllerState) {
	c.Rt, c.sum, c.count, c.steps = s.Rt, s.Sum, s.Count, s.Steps
}

// MeanSign returns E[sign(v)] over logits v: ADA's r_t when they are D's
// logits on real images. 0 for no logits.
func MeanSign(logits []float32) float64 {
	if len(logits) == 0 {
		return 0
	}
	var s float64
	for _, v := range logits {
		switch {
		case v > 0:
			s++
		case v < 0:
			s--
		}
	}
	return s / float64(len(logits))
}

// Observe records the mean sign (MeanSign) of the logits D gave a batch of
// n (augmented) real images and, at the end of an interval, adjusts a.P. It
// returns whether it adjusted.
func (c *Controller) Observe(a *Augmenter, meanSign float64, n int) bool {
	c.sum += math.Round(meanSign * float64(n)) // the signs' sum, an integer
	c.count += n
	c.steps++
	if c.steps < c.Interval || c.count == 0 {
		return false
	}
	c.Rt = c.sum / float64(c.count)
	step := float64(c.count) / c.Speed
	if c.Rt > c.Target {
		a.P += step
	} else {
		a.P -= step
	}
	a.P = math.Min(math.Max(a.P, 0), 1)
	c.sum, c.count, c.steps = 0, 0, 0
	return true
}

// Preview shows what D sees: the first row is cols images of set as they
// are, each later row the same images through a fresh draw of the policy's
// operations with probability p (rows in all, 8 when 0). Tiles are
// upscaled to at least 64 pixels.
func Preview(set *dataset.Set, policy string, p float64, cols, rows int, seed uint64) (image.Image, error) {
	if err := Check(policy); err != nil {
		return nil, err
	}
	if rows == 0 {
		rows = 8
	}
	n := min(cols, set.Len())
	if n == 0 {
		return nil, errors.New("augment: no images to preview")
	}
	if policy == None {
		p = 0
	}
	x := tensor.New(n, set.Size, set.Size, set.Channels)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	set.Batch(idx, x.Data, nil)
	a := For(policy, p)
	if a == nil {
		a = New(0)
	}
	rng := rand.New(rand.NewPCG(seed, 0xa9))
	scale := max(1, 64/set.Size)
	per := set.ImageSize()
	var tiles []image.Image
	for r := range rows {
		imgs := x
		if r > 0 {
			imgs = a.Forward(x, rng)
		}
		for i := range n {
			tiles = append(tiles, picture.Upscale(picture.FromTensor(imgs.Data[i*per:(i+1)*per], set.Size, set.Channels), scale))
		}
	}
	return picture.Grid(tiles, n, 2, color.White), nil
}
