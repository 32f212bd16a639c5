package latent

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"

	"forger/gan"
	"forger/internal/atomicfile"
)

// Direction is an attribute direction file (DIR.json): the unit normal of a
// linear boundary in z (or a stylegan's W) between latents whose images
// have an attribute and those that do not. Its JSON names are part of
// forger's file formats.
type Direction struct {
	Attribute string    `json:"attribute"`
	Model     string    `json:"model"`
	Direction []float64 `json:"direction"` // unit vector, len nz (or the size of w)
	// Space is the space of the direction: "" (absent, as in every file
	// before W) is z, "w" a stylegan's W.
	Space Space `json:"space,omitempty"`
	// Scale is the standard deviation of the labelled latents along the
	// direction (SetScale). An edit of strength s in W moves s·Scale: w is
	// not of unit spread as z is, and this keeps strengths comparable.
	Scale float64 `json:"scale,omitempty"`
	// Accuracy is the boundary's accuracy on held-out labelled latents (a
	// fifth of them, not used to fit the boundary that measures it).
	Accuracy float64 `json:"accuracy"`
	Samples  int     `json:"samples"`
	// Bias places the boundary: d·z + bias > 0 predicts the attribute, so
	// −bias is the boundary's signed distance from the origin.
	Bias          float64  `json:"bias"`
	Positives     int      `json:"positives"`      // samples labelled with the attribute
	TrainAccuracy float64  `json:"train_accuracy"` // on the samples the boundary was fitted to
	Labeller      string   `json:"labeller,omitempty"`
	OrthogonalTo  []string `json:"orthogonal_to,omitempty"` // attributes projected out of the direction
	// Method is how the sides were chosen: "labels" (the labeller's yes
	// and no) or "scores" (the top and bottom ScoreFraction of the
	// classifier's scores, when too few latents had one of the labels).
	Method        string  `json:"method,omitempty"`
	ScoreFraction float64 `json:"score_fraction,omitempty"`
	// Layers, for a direction in W, are the stylegan layers (0 the
	// coarsest; W+ has one w per layer) that an edit moves; none moves
	// every layer. A stylegan's coarse layers set pose, face shape and sex,
	// its middle ones features such as the mouth, its fine ones colour: an
	// edit kept to some layers changes less of the rest (GANSpace and
	// InterFaceGAN edit StyleGAN layer by layer for this).
	Layers []int `json:"layers,omitempty"`
}

// Methods of Direction.Method.
const (
	MethodLabels = "labels"
	MethodScores = "scores"
)

// ScoreFraction is the share of the latents, at each end of the
// classifier's scores, that FitDirectionScores takes as the two sides when
// the labels alone are too lopsided.
const ScoreFraction = 0.2

// ErrScoresFlat is returned by FitDirectionScores when the classifier's
// scores do not vary over the latents: no direction changes them.
var ErrScoresFlat = errors.New("the classifier gives every latent the same score: nothing to learn a direction from")

// ReadDirection reads a direction file.
func ReadDirection(path string) (*Direction, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading direction: %w", err)
	}
	var d Direction
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: not a direction file: %v", path, err)
	}
	if len(d.Direction) == 0 {
		return nil, fmt.Errorf("%s: not a direction file: no \"direction\"", path)
	}
	var s float64
	for _, v := range d.Direction {
		s += v * v
	}
	if !(s > 0) || math.IsInf(s, 0) {
		return nil, fmt.Errorf("%s: the direction is zero or not finite", path)
	}
	sp, err := ParseSpace(string(d.Space))
	if err == nil && sp == SpaceWPlus {
		err = &SpaceError{Space: string(sp), Reason: "has no directions: they are learned in z or w"}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(d.Layers) > 0 && d.Space.norm() != SpaceW {
		return nil, fmt.Errorf("%s: \"layers\" are for directions in w, this one is in %s", path, d.Space.norm())
	}
	for _, l := range d.Layers {
		if l < 0 {
			return nil, fmt.Errorf("%s: layer %d is not a layer", path, l)
		}
	}
	if d.Scale < 0 || math.IsNaN(d.Scale) || math.IsInf(d.Scale, 0) {
		return nil, fmt.Errorf("%s: \"scale\" %g is not a spread", path, d.Scale)
	}
	return &d, nil
}

// Write writes the direction atomically.
func (d *Direction) Write(path string) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, append(b, '\n'))
}

// Unit returns the direction scaled to length 1, as float32.
func (d *Direction) Unit() []float32 {
	var s float64
	for _, v := range d.Direction {
		s += v * v
	}
	s = math.Sqrt(s)
	out := make([]float32, len(d.Direction))
	for i, v := range d.Direction {
		out[i] = float32(v / s)
	}
	return out
}

// SetScale sets d.Scale to the standard deviation of the projections on d
// of the latents x (rows of len(d.Direction)).
func (d *Direction) SetScale(x []float32) {
	u := d.Unit()
	n := len(x) / len(u)
	if n < 2 {
		return
	}
	var s, ss float64
	for i := 0; i < n; i++ {
		var p float64
		for j, v := range u {
			p += float64(v) * float64(x[i*len(u)+j])
		}
		s += p
		ss += p * p
	}
	m := s / float64(n)
	d.Scale = math.Sqrt(max(0, ss/float64(n)-m*m))
}

// Step is the length of an edit of strength 1: Scale in W (when set), 1 in
// z, where an edit of strength s is z + s·d.
func (d *Direction) Step() float64 {
	if d.Space.IsW() && d.Scale > 0 {
		return d.Scale
	}
	return 1
}

// Scaled returns the unit direction times Step: what Edit and Check add
// per unit of strength.
func (d *Direction) Scaled() []float32 {
	u := d.Unit()
	k := float32(d.Step())
	for i := range u {
		u[i] *= k
	}
	return u
}

// Logistic is a fitted logistic regression p(y=1|x) = σ(w·x + b).
type Logistic struct {
	W []float64
	B float64
}

// Predict returns w·x + b.
func (l *Logistic) Predict(x []float32) float64 {
	s := l.B
	for i, v := range x {
		s += l.W[i] * float64(v)
	}
	return s
}

// Accuracy returns the fraction of rows of x (n rows of len(W)) whose
// prediction (w·x + b > 0) matches y.
func (l *Logistic) Accuracy(x []float32, y []bool) float64 {
	if len(y) == 0 {
		return 0
	}
	d := len(l.W)
	ok := 0
	for i, yi := range y {
		if (l.Predict(x[i*d:(i+1)*d]) > 0) == yi {
			ok++
		}
	}
	return float64(ok) / float64(len(y))
}

// FitLogistic fits a logistic regression to n rows of x (d = len(x)/n
// values each) with labels y, by Newton's method (iteratively reweighted
// least squares) in float64, with an L2 penalty lambda·‖w‖²/2 on the
// weights (not the bias) that keeps separable data finite.
func FitLogistic(x []float32, y []bool, lambda float64) (*Logistic, error) {
	n := len(y)
	if n == 0 || len(x)%n != 0 {
		return nil, errors.New("latent: no samples to fit")
	}
	d := len(x) / n
	pos := 0
	for _, v := range y {
		if v {
			pos++
		}
	}
	if pos == 0 || pos == n {
		return nil, fmt.Errorf("all %d samples have the same label: nothing separates them (use more samples, or check the labeller)", n)
	}
	k := d + 1 // weights, then the bias
	beta := make([]float64, k)
	beta[d] = math.Log(float64(pos) / float64(n-pos))
	h := mat.NewSymDense(k, nil)
	grad := mat.NewVecDense(k, nil)
	step := mat.NewVecDense(k, nil)
	row := make([]float64, k)
	row[d] = 1
	for iter := 0; iter < 50; iter++ {
		h.Zero()
		hd := h.RawSymmetric().Data
		gd := grad.RawVector().Data
		clear(gd)
		for i := 0; i < n; i++ {
			for j := 0; j < d; j++ {
				row[j] = float64(x[i*d+j])
			}
			s := 0.0
			for j, v := range row {
				s += beta[j] * v
			}
			p := 1 / (1 + math.Exp(-s))
			t := 0.0
			if y[i] {
				t = 1
			}
			w := max(p*(1-p), 1e-10)
			for a := 0; a < k; a++ {
				gd[a] += (p - t) * row[a]
				wa := w * row[a]
				r := hd[a*k : (a+1)*k]
				for b := a; b < k; b++ {
					r[b] += wa * row[b]
				}
			}
		}
		for j := 0; j < d; j++ {
			gd[j] += lambda * beta[j]
			hd[j*k+j] += lambda
		}
		hd[d*k+d] += 1e-9
		var ch mat.Cholesky
		if !ch.Factorize(h) {
			return nil, errors.New("latent: the logistic regression's Hessian is singular")
		}
		if err := ch.SolveVecTo(step, grad); err != nil {
			return nil, fmt.Errorf("latent: logistic regression: %v", err)
		}
		var size float64
		for j := range beta {
			beta[j] -= step.AtVec(j)
			size += step.AtVec(j) * step.AtVec(j)
		}
		if math.Sqrt(size) < 1e-9*(1+mat.Norm(mat.NewVecDense(k, beta), 2)) {
			break
		}
	}
	return &Logistic{W: beta[:d:d], B: beta[d]}, nil
}

// FitDirection fits the direction of an attribute from n latents z (n×nz
// values) and their labels: a logistic regression on the first four
// fifths measures the held-out accuracy on the last fifth, then the
// direction is refitted on all samples. lambda is the L2 penalty (0 means 1).
func FitDirection(z []float32, y []bool, lambda float64) (*Direction, error) {
	if lambda == 0 {
		lambda = 1
	}
	n := len(y)
	if n < 10 {
		return nil, fmt.Errorf("%d labelled latents are too few to fit a direction (want at least 10)", n)
	}
	nz := len(z) / n
	pos := 0
	for _, v := range y {
		if v {
			pos++
		}
	}
	if pos == 0 || pos == n {
		return nil, fmt.Errorf("all %d samples are labelled %v: nothing to separate (use more samples, or check the labeller: does the model draw the attribute at all?)", n, pos == n)
	}
	if pos < 5 || n-pos < 5 {
		return nil, fmt.Errorf("only %d of %d samples are labelled %v: too few to fit a direction (use more samples)", min(pos, n-pos), n, pos < n-pos)
	}
	cut := n * 4 / 5
	l, err := FitLogistic(z[:cut*nz], y[:cut], lambda)
	if err != nil {
		return nil, err
	}
	heldOut := l.Accuracy(z[cut*nz:], y[cut:])
	l, err = FitLogistic(z, y, lambda)
	if err != nil {
		return nil, err
	}
	var s float64
	for _, v := range l.W {
		s += v * v
	}
	s = math.Sqrt(s)
	if s == 0 {
		return nil, errors.New("latent: the fitted direction is zero")
	}
	d := &Direction{Direction: make([]float64, nz), Accuracy: heldOut, Samples: n, Bias: l.B / s,
		TrainAccuracy: l.Accuracy(z, y)}
	for i, v := range l.W {
		d.Direction[i] = v / s
	}
	for _, v := range y {
		if v {
			d.Positives++
		}
	}
	return d, nil
}

// minSide is the fewest latents on either side of a boundary.
const minSide = 5

// FitDirectionScores fits the direction of an attribute from n latents z
// and a classifier's probabilities that their images have it. With at
// least five latents on each side of 0.5 it is FitDirection on those
// labels. Otherwise (a young model that rarely draws the attribute, or
// nearly always), it learns from the scores as InterFaceGAN does: the
// latents with the top ScoreFraction of the logits against those with the
// bottom ScoreFraction. It returns ErrScoresFlat when the scores at the
// two ends are the same.
func FitDirectionScores(z []float32, probs []float64, lambda float64) (*Direction, error) {
	n := len(probs)
	y := make([]bool, n)
	pos := 0
	for i, p := range probs {
		y[i] = p > 0.5
		if y[i] {
			pos++
		}
	}
	if n >= 10 && pos >= minSide && n-pos >= minSide {
		d, err := FitDirection(z, y, lambda)
		if d != nil {
			d.Method = MethodLabels
		}
		return d, err
	}
	k := max(minSide, int(math.Round(ScoreFraction*float64(n))))
	if n < 10 || 2*k > n {
		return nil, fmt.Errorf("%d labelled latents are too few to fit a direction (want at least 10)", n)
	}
	logit := make([]float64, n)
	order := make([]int, n)
	for i, p := range probs {
		logit[i], order[i] = Logit(p), i
	}
	sort.SliceStable(order, func(a, b int) bool { return logit[order[a]] < logit[order[b]] })
	lowCut, highCut := logit[order[k-1]], logit[order[n-k]]
	if !(highCut > lowCut) {
		return nil, ErrScoresFlat
	}
	// The two ends, in the latents' own order (FitDirection holds out the
	// last fifth).
	side := make([]int8, n) // -1 bottom, +1 top
	for _, i := range order[:k] {
		side[i] = -1
	}
	for _, i := range order[n-k:] {
		side[i] = 1
	}
	nz := len(z) / n
	var zs []float32
	var ys []bool
	for i := range side {
		if side[i] != 0 {
			zs = append(zs, z[i*nz:(i+1)*nz]...)
			ys = append(ys, side[i] > 0)
		}
	}
	d, err := FitDirection(zs, ys, lambda)
	if err != nil {
		return nil, err
	}
	d.Samples, d.Positives = n, pos
	d.Method, d.ScoreFraction = MethodScores, float64(k)/float64(n)
	return d, nil
}

// Orthogonalize removes from d its components along the span of others
// (InterFaceGAN's conditional manipulation: moving along the result leaves
// the other attributes' boundaries' scores unchanged) and renormalises it.
func (d *Direction) Orthogonalize(others ...*Direction) error {
	var basis [][]float64
	for _, o := range others {
		if len(o.Direction) != len(d.Direction) {
			return fmt.Errorf("direction %q has %d values, %q has %d", o.Attribute, len(o.Direction), d.Attribute, len(d.Direction))
		}
		v := append([]float64(nil), o.Direction...)
		for _, b := range basis {
			sub(v, b, dot(v, b))
		}
		if n := math.Sqrt(dot(v, v)); n > 1e-9 {
			for i := range v {
				v[i] /= n
			}
			basis = append(basis, v)
		}
	}
	for _, b := range basis {
		sub(d.Direction, b, dot(d.Direction, b))
	}
	n := math.Sqrt(dot(d.Direction, d.Direction))
	if n < 1e-6 {
		return fmt.Errorf("direction %q lies in the span of the others", d.Attribute)
	}
	for i := range d.Direction {
		d.Direction[i] /= n
	}
	for _, o := range others {
		d.OrthogonalTo = append(d.OrthogonalTo, o.Attribute)
	}
	return nil
}

func dot(a, b []float64) float64 {
	var s float64
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

func sub(v, b []float64, c float64) {
	for i := range v {
		v[i] -= c * b[i]
	}
}

// Edit returns c + s·d for each strength s (d a direction in c's space,
// e.g. Direction.Scaled; a W direction moves every layer of a W+ code).
func Edit(c Code, d []float32, strengths []float64) []Code {
	out := make([]Code, len(strengths))
	for k, s := range strengths {
		e := c.Clone()
		for i := range e.Z {
			e.Z[i] += float32(s) * d[i%len(d)]
		}
		out[k] = e
	}
	return out
}

// Prepare returns c in the space an edit along d needs and the vector that
// an edit of strength 1 adds to it (for Edit). A seed's z goes to d's
// space; a W+ code takes a W direction on every layer; with d.Layers the
// code goes to W+ and the vector moves those layers only.
func (d *Direction) Prepare(g gan.GeneratorNet, c Code) (Code, []float32, error) {
	if len(d.Layers) == 0 {
		if c.Space.norm() == SpaceWPlus && d.Space.norm() == SpaceW {
			return c, d.Scaled(), nil
		}
		c, err := ToSpace(g, c, d.Space)
		return c, d.Scaled(), err
	}
	c, err := ToSpace(g, c, SpaceWPlus)
	if err != nil {
		return Code{}, nil, err
	}
	v, err := LayerVector(g.ModelConfig(), d.Scaled(), d.Layers)
	return c, v, err
}

// LayerVector returns the W+ vector that moves the layers of a stylegan cfg
// by w (a vector in W) and leaves the others. Its errors are *LayerError.
func LayerVector(cfg gan.Config, w []float32, layers []int) ([]float32, error) {
	if err := CheckLayers(cfg, layers); err != nil {
		return nil, err
	}
	v := make([]float32, cfg.StyleGAN.NumWs()*len(w))
	for _, l := range layers {
		copy(v[l*len(w):(l+1)*len(w)], w)
	}
	return v, nil
}

// A LayerError reports a layer that the model does not have.
type LayerError struct {
	Layer, NumWs int // NumWs 0: the model is not a stylegan
}

func (e *LayerError) Error() string {
	if e.NumWs == 0 {
		return "layers are a stylegan's: this model has none"
	}
	return fmt.Sprintf("layer %d: the model has layers 0–%d", e.Layer, e.NumWs-1)
}

// CheckLayers returns a *LayerError unless every layer is one of cfg's.
func CheckLayers(cfg gan.Config, layers []int) error {
	if len(layers) == 0 {
		return nil
	}
	if cfg.StyleGAN == nil {
		return &LayerError{}
	}
	for _, l := range layers {
		if l < 0 || l >= cfg.StyleGAN.NumWs() {
			return &LayerError{Layer: l, NumWs: cfg.StyleGAN.NumWs()}
		}
	}
	return nil
}

// ParseLayers parses a list of layers and ranges, "4-7" or "2,3,6-9".
// Its errors are *OptionError (Option "Layers").
func ParseLayers(spec string) ([]int, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, nil
	}
	bad := func(why string) error {
		return &OptionError{Pkg: "latent", Option: "Layers", Value: spec, Reason: why}
	}
	var out []int
	seen := map[int]bool{}
	for _, part := range strings.Split(spec, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, bad("must be layers or ranges of layers, like 4-7 or 2,3,6-9")
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, bad("must be layers or ranges of layers, like 4-7 or 2,3,6-9")
			}
		}
		if b-a > 1024 {
			return nil, bad("has more layers than a stylegan")
		}
		for l := a; l <= b; l++ {
			if !seen[l] {
				seen[l] = true
				out = append(out, l)
			}
		}
	}
	return out, nil
}

// EditTo returns c moved along v so that, for each target t, its signed
// distance from the boundary is t·|v|: InterFaceGAN's edit, in which a face
// far from the attribute moves further than one near it and every face
// ends at the same distance. v is an edit of strength 1 (Direction.Scaled,
// or the vector of Prepare), bias the boundary's offset (Direction.Bias,
// with the distance u·x + bias for u = v/|v|), dim the length of one code
// of v's space: in W+ each layer that v moves is placed on its own.
func EditTo(c Code, v []float32, dim int, bias float64, targets []float64) []Code {
	out := make([]Code, len(targets))
	for k, t := range targets {
		e := c.Clone()
		for off := 0; off+dim <= len(e.Z); off += dim {
			seg := v[off%len(v) : off%len(v)+dim]
			var n2, dist float64
			for j, x := range seg {
				n2 += float64(x) * float64(x)
				dist += float64(x) * float64(e.Z[off+j])
			}
			if n2 == 0 {
				continue // a layer the edit leaves
			}
			step := math.Sqrt(n2)
			dist = dist/step + bias
			move := float32((t*step - dist) / step)
			for j, x := range seg {
				e.Z[off+j] += move * x
			}
		}
		out[k] = e
	}
	return out
}

// PlaceBoundary sets d.Bias so that the boundary u·x + Bias = 0 along d's
// direction as it now is (after Orthogonalize, which leaves the bias of the
// direction it was fitted as) best separates the latents x (rows of
// len(d.Direction)) labelled y: a logistic regression on their projections.
func (d *Direction) PlaceBoundary(x []float32, y []bool) error {
	u := d.Unit()
	n := len(x) / len(u)
	if n != len(y) {
		return fmt.Errorf("latent: %d latents and %d labels", n, len(y))
	}
	p := make([]float32, n)
	for i := range p {
		var s float64
		for j, v := range u {
			s += float64(v) * float64(x[i*len(u)+j])
		}
		p[i] = float32(s)
	}
	l, err := FitLogistic(p, y, 1)
	if err != nil {
		return err
	}
	if !(l.W[0] > 0) {
		return errors.New("latent: the attribute does not grow along its direction: no boundary to place")
	}
	d.Bias = l.B / l.W[0]
	return nil
}

// ParseStrengths parses "start:end:count" (count ≥ 1 evenly spaced values
// from start to end; count 1 gives start) or a single number. Its errors
// are *OptionError (Option "Strengths").
func ParseStrengths(spec string) ([]float64, error) {
	bad := &OptionError{Pkg: "latent", Option: "Strengths", Value: spec, Reason: "is not START:END:COUNT (e.g. -3:3:7) or one number"}
	num := func(s string) (float64, bool) {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		return v, err == nil && !math.IsNaN(v) && !math.IsInf(v, 0)
	}
	parts := strings.Split(spec, ":")
	switch len(parts) {
	case 1:
		if v, ok := num(parts[0]); ok {
			return []float64{v}, nil
		}
		return nil, bad
	case 3:
	default:
		return nil, bad
	}
	a, ok1 := num(parts[0])
	b, ok2 := num(parts[1])
	n, err := strconv.Atoi(strings.TrimSpace(parts[2]))
	if !ok1 || !ok2 || err != nil {
		return nil, bad
	}
	if n < 1 || n > 1000 {
		return nil, &OptionError{Pkg: "latent", Option: "Strengths", Value: spec, Reason: "has a COUNT outside 1 to 1000"}
	}
	out := make([]float64, n)
	for i := range out {
		if n == 1 {
			out[i] = a
		} else {
			out[i] = a + (b-a)*float64(i)/float64(n-1)
		}
	}
	return out, nil
}
