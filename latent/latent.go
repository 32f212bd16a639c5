// Package latent works in a generator's latent space: latent files, seeds
// and photos as codes; the spaces z and, for a stylegan, W and W+ (Space,
// ToSpace); interpolation (lerp and slerp) for morphs and blends;
// projection of a photo onto the generator (Adam or L-BFGS on z, w or w+
// through the frozen generator, with a pixel and/or perceptual loss); an encoder network that
// predicts z from an image to start the projection near its answer; attribute
// directions learned by logistic regression on labelled latents; and edits
// along them. It also owns what forger's latent commands measure and write:
// a projection's files and report (SaveProjection), the comparisons of
// starting points and losses (Comparison: curves, pass thresholds, typed
// reports), finding an edit check's classifiers (FindClassifiers) and
// reading labels (ReadLabels). Photos are read with picture.Load, so their
// EXIF orientation is honoured.
//
// A latent file (latent.json) is
//
//	{"model": "runs/x/checkpoints/latest.safetensors", "z": [nz floats],
//	 "class": 3, "seed": 42}
//
// where class (conditional models) and seed (when the code came from a seed)
// are optional; its JSON names are part of forger's file formats. A code of
// a stylegan's W or W+ (Space) is stored as
//
//	{"model": "…", "space": "w+", "w": [NumWs·WDim floats, layer by layer]}
//
// and a file without "space" is in z, as every file before W was.
package latent

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"

	"forger/gan"
	"forger/internal/atomicfile"
	"forger/internal/opterr"
	"forger/nn"
	"forger/tensor"
)

// An OptionError reports an option value latent cannot use, by its Go name
// (ProjectOptions.Steps is "Steps"); a command line turns it into its flag.
type OptionError = opterr.Error

// File is a latent file: one latent code of a model.
type File struct {
	Model string `json:"model"`
	// Space is the code's space; "" (absent) is z.
	Space Space     `json:"space,omitempty"`
	Z     []float32 `json:"z,omitempty"`
	// W is the code of a W or W+ file (Space "w" or "w+").
	W     []float32 `json:"w,omitempty"`
	Class *int      `json:"class,omitempty"`
	Seed  *int64    `json:"seed,omitempty"`
	// Loss is the projection loss when the code was projected from a photo.
	Loss *float64 `json:"loss,omitempty"`
	// Source is the photo a projected code came from.
	Source string `json:"source,omitempty"`
}

// ReadFile reads a latent file.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading latent: %w", err)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: not a latent file: %v", path, err)
	}
	sp, err := ParseSpace(string(f.Space))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	key, v := "z", f.Z
	if sp.IsW() {
		key, v = "w", f.W
	}
	if len(v) == 0 {
		return nil, fmt.Errorf("%s: not a latent file of space %s: no %q", path, sp, key)
	}
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("%s: %q holds a non-finite value", path, key)
		}
	}
	return &f, nil
}

// Write writes the latent file atomically.
func (f *File) Write(path string) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, append(b, '\n'))
}

// Code is a point of a model's latent space: its vector Z in Space (z, or
// a stylegan's w or w+, see Space.Dim) and, for conditional models, the
// class as weights over the classes (one-hot for a plain class; blends and
// morphs between classes mix the class embeddings).
type Code struct {
	Z     []float32
	Class []float32 // nil for unconditional models
	Space Space     // "" is z
}

// ClassCode returns the one-hot class weights of class c among k classes,
// or nil when k is 0.
func ClassCode(c, k int) []float32 {
	if k == 0 {
		return nil
	}
	w := make([]float32, k)
	w[c] = 1
	return w
}

// HardClass returns the class with the largest weight, or -1 for nil.
func (c Code) HardClass() int {
	if c.Class == nil {
		return -1
	}
	best := 0
	for i, w := range c.Class {
		if w > c.Class[best] {
			best = i
		}
	}
	return best
}

// Clone returns a deep copy.
func (c Code) Clone() Code {
	out := Code{Z: append([]float32(nil), c.Z...), Space: c.Space}
	if c.Class != nil {
		out.Class = append([]float32(nil), c.Class...)
	}
	return out
}

// FromSeed returns the code of a seed (gan.LatentForSeed), with class c for
// conditional models.
func FromSeed(cfg gan.Config, seed int64, class int) Code {
	z := make([]float32, cfg.NZ)
	gan.LatentForSeed(seed, 1, z)
	return Code{Z: z, Class: ClassCode(class, numClasses(cfg))}
}

func numClasses(cfg gan.Config) int {
	if cfg.Conditional() {
		return len(cfg.Classes)
	}
	return 0
}

// CheckCode returns an error when a code does not fit the model.
func CheckCode(cfg gan.Config, c Code) error {
	dim, err := c.Space.Dim(cfg)
	if err != nil {
		return err
	}
	if len(c.Z) != dim {
		return fmt.Errorf("the latent has %d values, the model's %s has %d", len(c.Z), c.Space, dim)
	}
	if k := numClasses(cfg); k != len(c.Class) {
		if k == 0 {
			return errors.New("the latent has a class, the model is unconditional")
		}
		return fmt.Errorf("the model is conditional (%d classes): the latent needs a class", k)
	}
	return nil
}

// CodeOf turns a latent file into a code for cfg; class, when ≥ 0, replaces
// the file's class.
func (f *File) CodeOf(cfg gan.Config, class int) (Code, error) {
	c := Code{Z: append([]float32(nil), f.Z...)}
	if f.Space.norm() != SpaceZ {
		c = Code{Z: append([]float32(nil), f.W...), Space: f.Space}
	}
	if k := numClasses(cfg); k > 0 {
		if class < 0 && f.Class != nil {
			class = *f.Class
		}
		if class < 0 {
			class = 0
		}
		if class >= k {
			return Code{}, fmt.Errorf("class %d is not a class of this model (it has %d)", class, k)
		}
		c.Class = ClassCode(class, k)
	}
	return c, CheckCode(cfg, c)
}

// FileOf returns the latent file of a code.
func FileOf(model string, c Code) *File {
	f := &File{Model: model, Z: append([]float32(nil), c.Z...)}
	if c.Space.IsW() {
		f = &File{Model: model, Space: c.Space, W: f.Z}
	}
	if c.Class != nil {
		k := c.HardClass()
		f.Class = &k
	}
	return f
}

// Lerp writes (1-t)·a + t·b into dst.
func Lerp(dst, a, b []float32, t float64) {
	for i := range dst {
		dst[i] = float32((1-t)*float64(a[i]) + t*float64(b[i]))
	}
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// Slerp writes the spherical interpolation of a and b into dst: the
// direction moves along the great circle from a's to b's at constant
// angular speed, and the length goes linearly from |a| to |b|. Gaussian
// latents live near a sphere, so unlike Lerp (whose midpoint of two
// independent latents is √2 too short) the path stays where the generator
// was trained. t = 0 gives a and t = 1 gives b exactly.
func Slerp(dst, a, b []float32, t float64) {
	if t == 0 {
		copy(dst, a)
		return
	}
	if t == 1 {
		copy(dst, b)
		return
	}
	na, nb := norm(a), norm(b)
	if na == 0 || nb == 0 {
		Lerp(dst, a, b, t)
		return
	}
	var dot float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
	}
	cos := max(-1, min(1, dot/(na*nb)))
	omega := math.Acos(cos)
	if omega < 1e-6 || math.Pi-omega < 1e-6 { // (anti)parallel: no unique circle
		Lerp(dst, a, b, t)
		return
	}
	s := math.Sin(omega)
	wa, wb := math.Sin((1-t)*omega)/s, math.Sin(t*omega)/s
	r := (1-t)*na + t*nb
	for i := range dst {
		u := wa*float64(a[i])/na + wb*float64(b[i])/nb
		dst[i] = float32(r * u)
	}
}

// Mix returns the code a fraction t of the way from a to b, both of one
// space: the vector by Slerp (spherical) or Lerp, the class weights always
// linearly. Spherical interpolation is for z (CheckInterpolation).
func Mix(a, b Code, t float64, spherical bool) Code {
	out := Code{Z: make([]float32, len(a.Z)), Space: a.Space}
	if spherical {
		Slerp(out.Z, a.Z, b.Z, t)
	} else {
		Lerp(out.Z, a.Z, b.Z, t)
	}
	if a.Class != nil {
		out.Class = make([]float32, len(a.Class))
		Lerp(out.Class, a.Class, b.Class, t)
	}
	return out
}

// CheckInterpolation returns a *SpaceError for spherical interpolation in
// W or W+: w is not Gaussian (the mapping network shapes it), so as
// StyleGAN does, W is interpolated linearly.
func CheckInterpolation(s Space, spherical bool) error {
	if spherical && s.IsW() {
		return &SpaceError{Space: s.String(), Reason: "is interpolated linearly: spherical interpolation is for z"}
	}
	return nil
}

// Path returns frames codes along the waypoints (at least 2), spaced evenly
// in the path parameter: each leg between two waypoints gets an equal share
// of the frames, the first frame is the first waypoint and the last frame
// the last one.
func Path(waypoints []Code, frames int, spherical bool) ([]Code, error) {
	if len(waypoints) < 2 {
		return nil, errors.New("a path needs at least 2 codes")
	}
	if frames < 2 {
		return nil, fmt.Errorf("a morph needs at least 2 frames, not %d", frames)
	}
	for _, w := range waypoints[1:] {
		if w.Space.norm() != waypoints[0].Space.norm() {
			return nil, &SpaceError{Space: w.Space.String(), Reason: fmt.Sprintf("differs from the first code's %s (bring them to one space with ToSpace)", waypoints[0].Space)}
		}
	}
	if err := CheckInterpolation(waypoints[0].Space, spherical); err != nil {
		return nil, err
	}
	legs := len(waypoints) - 1
	out := make([]Code, frames)
	for f := range out {
		u := float64(f) / float64(frames-1) * float64(legs) // position along the legs
		leg := min(int(u), legs-1)
		out[f] = Mix(waypoints[leg], waypoints[leg+1], u-float64(leg), spherical)
	}
	return out, nil
}

// Render generates the images of codes, [N, Size, Size, Channels] in
// [-1, 1], in inference mode. The result is owned by the generator. Codes
// with a one-hot class use the generator's embedding lookup; mixed classes
// feed the weighted sum of the class embeddings. A stylegan renders codes
// of any of its spaces (each taken to W+, ToSpace) with its constant noise;
// the codes must fit the model (CheckCode).
func Render(g gan.GeneratorNet, codes []Code) *tensor.Tensor {
	switch g := g.(type) {
	case *gan.Generator:
		for _, c := range codes {
			if c.Space.norm() != SpaceZ {
				panic("latent.Render: a " + c.Space.String() + " code for a " + g.Cfg.Arch)
			}
		}
		return renderDCGAN(g, codes)
	case *gan.StyleGenerator:
		return renderStyle(g, codes)
	}
	panic(fmt.Sprintf("latent.Render: unknown generator %T", g))
}

func renderDCGAN(g *gan.Generator, codes []Code) *tensor.Tensor {
	n, nz := len(codes), g.Cfg.NZ
	g.SetTraining(false)
	z := tensor.New(n, nz)
	for i, c := range codes {
		copy(z.Data[i*nz:(i+1)*nz], c.Z)
	}
	if g.Embed == nil {
		return g.Forward(z, nil)
	}
	soft := false
	labels := make([]int32, n)
	for i, c := range codes {
		k := c.HardClass()
		labels[i] = int32(k)
		for j, w := range c.Class {
			if (j == k && w != 1) || (j != k && w != 0) {
				soft = true
			}
		}
	}
	if !soft {
		return g.Forward(z, labels)
	}
	// Mixed classes: build [z, Σ wₖ·embed(k)] and run the network directly.
	dim := g.Embed.Dim
	in := tensor.New(n, 1, 1, nz+dim)
	w := g.Embed.Weight.Value.Data
	for i, c := range codes {
		row := in.Data[i*(nz+dim) : (i+1)*(nz+dim)]
		copy(row, c.Z)
		for k, wk := range c.Class {
			if wk == 0 {
				continue
			}
			for j := 0; j < dim; j++ {
				row[nz+j] += wk * w[k*dim+j]
			}
		}
	}
	return g.Net.Forward(in)
}

// Freeze puts a generator in the state projection and encoder training need:
// inference mode, parameters frozen (no weight gradients, input gradients
// still flow).
func Freeze(g gan.GeneratorNet) {
	g.SetTraining(false)
	nn.Freeze(g.Params(), true)
}
