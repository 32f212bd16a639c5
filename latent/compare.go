package latent

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"forger/gan"
	"forger/picture"
	"forger/tensor"
)

// This file is the measurement harness of forger project --compare-init and
// --compare-loss: projections of held-out generated images (whose true
// latents are known) and photos, their curves, the pass thresholds, and
// the reports the command prints and writes as JSON.

// Comparison is a set of targets to measure projections on: N held-out
// generated images first (seeds Seed, Seed+1, …), then the photos.
type Comparison struct {
	G       gan.GeneratorNet
	Targets *tensor.Tensor // [N + len(Photos), S, S, C]
	Truth   []Code         // the codes of the N generated images
	Classes []int          // of the targets: the true class of generated images, the class asked for (or -1, guess) for photos
	Photos  []string
	// Out is the folder the plots and the JSON report are written to.
	Out string

	// Project runs one projection of Targets (with Classes): from init
	// ("mean" or "encoder") for steps steps, with the loss and feature
	// network named (features "": the projector's own), desc labelling its
	// progress; it stops when ctx is done.
	Project func(ctx context.Context, init string, steps int, loss, features, desc string) (*Projection, error)
}

// NewComparison renders n held-out generated images (seeds seed, seed+1,
// …; class, or every class in turn when class < 0, for conditional models)
// and loads the photos (LoadPhoto) as the targets of a comparison.
func NewComparison(g gan.GeneratorNet, n int, seed int64, class int, photos []string) (*Comparison, error) {
	cfg := g.ModelConfig()
	c := &Comparison{G: g, Photos: photos, Truth: make([]Code, n)}
	for i := range c.Truth {
		k := class
		if k < 0 && cfg.Conditional() {
			k = i % len(cfg.Classes)
		}
		c.Truth[i] = FromSeed(cfg, seed+int64(i), max(k, 0))
		c.Classes = append(c.Classes, k)
	}
	for range photos {
		c.Classes = append(c.Classes, class)
	}
	per := cfg.Size * cfg.Size * cfg.Channels
	c.Targets = tensor.New(n+len(photos), cfg.Size, cfg.Size, cfg.Channels)
	if n > 0 {
		imgs, err := RenderAll(context.Background(), g, c.Truth) // n held-out images: quick
		if err != nil {
			return nil, err
		}
		copy(c.Targets.Data, imgs)
	}
	for i, p := range photos {
		x, err := LoadPhoto(p, cfg.Size, cfg.Channels)
		if err != nil {
			return nil, err
		}
		copy(c.Targets.Data[(n+i)*per:], x)
	}
	return c, nil
}

// RenderAll renders codes in batches of 100 and returns the images
// [len(codes), S, S, C] as one slice. ctx is checked before every batch.
func RenderAll(ctx context.Context, g gan.GeneratorNet, codes []Code) ([]float32, error) {
	var out []float32
	for lo := 0; lo < len(codes); lo += 100 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out = append(out, Render(g, codes[lo:min(len(codes), lo+100)]).Data...)
	}
	return out, nil
}

// BestCurve returns, at every step, the mean over rows lo..hi of each row's
// best loss so far: what a projection stopped there would hand back (each
// image keeps its best code). A running minimum of the mean instead would
// punish optimisers whose rows do not all improve on the same step (L-BFGS
// evaluates line-search trials far above its best point).
func BestCurve(loss [][]float64, lo, hi int) []float64 {
	out := make([]float64, len(loss[lo]))
	best := make([]float64, hi-lo)
	for i := range best {
		best[i] = math.Inf(1)
	}
	for s := range out {
		var m float64
		for i, l := range loss[lo:hi] {
			best[i] = min(best[i], l[s])
			m += best[i]
		}
		out[s] = m / float64(hi-lo)
	}
	return out
}

// stepsTo returns the first step at which c reaches target, or -1.
func stepsTo(c []float64, target float64) int {
	for s, v := range c {
		if v <= target*(1+1e-9) {
			return s
		}
	}
	return -1
}

func log10s(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Log10(x)
	}
	return out
}

// InitGroup is one group of targets of an init comparison: the generated
// images together, each photo alone.
type InitGroup struct {
	Name        string  `json:"name"`
	Images      int     `json:"images"`
	MeanFinal   float64 `json:"mean_init_final_loss"`
	EncInitial  float64 `json:"encoder_init_initial_loss"`
	EncFinal    float64 `json:"encoder_init_final_loss"`
	StepsToMean int     `json:"encoder_steps_to_mean_final"` // in the same schedule; -1: never
	ShortFinal  float64 `json:"encoder_short_final_loss"`    // after a projection of steps/5 steps
	Passed      bool    `json:"passed"`                      // ShortFinal ≤ MeanFinal
	// WithinFifth: StepsToMean is at most a fifth of the steps (issue
	// #6's bar read on the same schedule).
	WithinFifth bool `json:"steps_within_fifth"`
	// ImagesPassed counts the images whose own best loss after the
	// short projection is at or below their own after mean init's.
	ImagesPassed int `json:"images_passed"`

	MeanCurve  []float64 `json:"mean_init_curve"`
	EncCurve   []float64 `json:"encoder_init_curve"`
	ShortCurve []float64 `json:"encoder_short_curve"`
}

// InitReport is the result of Inits, as forger project --compare-init
// prints it and writes it to init-compare.json (keys in alphabetical
// order, as they always were).
type InitReport struct {
	EncoderLR         float64     `json:"encoder_lr"`
	Groups            []InitGroup `json:"groups"`
	GroupsWithinFifth int         `json:"groups_within_fifth"`
	Loss              string      `json:"loss"`
	LR                float64     `json:"lr"`
	Passed            bool        `json:"passed"` // every group passed
	Plots             []string    `json:"plots"`
	ShortSteps        int         `json:"short_steps"`
	Steps             int         `json:"steps"`
}

// Inits compares starting points: mean init for steps, encoder init for
// steps (the same schedule: at which step does it reach mean init's final
// loss?) and encoder init for a fifth of steps (its own, shorter schedule:
// does it end at or below mean init's final loss?). It plots each group's
// curves into Out and writes the report to Out/init-compare.json; loss,
// lr and encoderLR are recorded in the report.
func (c *Comparison) Inits(ctx context.Context, steps int, loss string, lr, encoderLR float64) (*InitReport, error) {
	short := max(1, steps/5)
	run := func(init string, steps int) (*Projection, error) {
		return c.Project(ctx, init, steps, "", "", fmt.Sprintf("init %s, %d steps", init, steps))
	}
	mean, err := run("mean", steps)
	if err != nil {
		return nil, err
	}
	enc, err := run("encoder", steps)
	if err != nil {
		return nil, err
	}
	encShort, err := run("encoder", short)
	if err != nil {
		return nil, err
	}
	n := len(c.Truth)
	var groups []InitGroup
	add := func(name string, lo, hi int) {
		mc, ec, sc := BestCurve(mean.Loss, lo, hi), BestCurve(enc.Loss, lo, hi), BestCurve(encShort.Loss, lo, hi)
		gr := InitGroup{Name: name, Images: hi - lo, MeanFinal: mc[steps], EncInitial: ec[0], EncFinal: ec[steps],
			StepsToMean: stepsTo(ec, mc[steps]), ShortFinal: sc[short], MeanCurve: mc, EncCurve: ec, ShortCurve: sc}
		gr.Passed = gr.ShortFinal <= gr.MeanFinal*(1+1e-9)
		gr.WithinFifth = gr.StepsToMean >= 0 && gr.StepsToMean <= short
		for i := lo; i < hi; i++ {
			if encShort.Best[i] <= mean.Best[i]*(1+1e-9) {
				gr.ImagesPassed++
			}
		}
		groups = append(groups, gr)
	}
	if n > 0 {
		add("generated", 0, n)
	}
	for i, p := range c.Photos {
		add(filepath.Base(p), n+i, n+i+1)
	}
	var plots []string
	for _, gr := range groups {
		series := []picture.Series{
			{Name: fmt.Sprintf("mean init, %d steps", steps), Y: log10s(gr.MeanCurve)},
			{Name: fmt.Sprintf("encoder init, %d steps", steps), Y: log10s(gr.EncCurve)},
			{Name: fmt.Sprintf("encoder init, %d steps", short), Y: log10s(gr.ShortCurve)},
		}
		plot := filepath.Join(c.Out, "init-curves-"+fileSafe(strings.TrimSuffix(gr.Name, filepath.Ext(gr.Name)))+".png")
		title := fmt.Sprintf("Projection of %s (%d images): mean of each image's best loss so far", gr.Name, gr.Images)
		if gr.Images == 1 {
			title = fmt.Sprintf("Projection of %s: best loss so far", gr.Name)
		}
		if err := picture.PlotLines(plot, title, "step", "log10 loss ("+loss+")", series); err != nil {
			return nil, err
		}
		plots = append(plots, plot)
	}
	rep := &InitReport{Steps: steps, ShortSteps: short, Loss: loss, LR: lr, EncoderLR: encoderLR, Passed: true, Plots: plots, Groups: groups}
	for _, gr := range groups {
		rep.Passed = rep.Passed && gr.Passed
		if gr.WithinFifth {
			rep.GroupsWithinFifth++
		}
	}
	if err := writeJSON(filepath.Join(c.Out, "init-compare.json"), rep); err != nil {
		return nil, err
	}
	return rep, nil
}

// LossVariant is a projection objective to compare: a loss (LossPixel,
// LossPerceptual or LossBoth) and, but for pixel, a feature network.
type LossVariant struct{ Loss, Features string }

// Name is LOSS or LOSS:FEATURES.
func (v LossVariant) Name() string {
	if v.Features == "" {
		return v.Loss
	}
	return v.Loss + ":" + v.Features
}

// ParseLossVariants parses LOSS[:FEATURES] pairs separated by commas;
// features default to defaultFeatures, and pixel has none.
func ParseLossVariants(spec, defaultFeatures string) ([]LossVariant, error) {
	var vs []LossVariant
	for _, part := range strings.Split(spec, ",") {
		l, f, _ := strings.Cut(strings.TrimSpace(part), ":")
		if err := CheckLoss(l); err != nil {
			return nil, err
		}
		if l != LossPixel && f == "" {
			f = defaultFeatures
		}
		if l == LossPixel {
			f = ""
		}
		vs = append(vs, LossVariant{l, f})
	}
	return vs, nil
}

// LossRow is one variant's measurements in a LossReport.
type LossRow struct {
	Variant  string             `json:"variant"`
	PixelGen float64            `json:"pixel_mse_generated"`
	ZDist    float64            `json:"z_distance_generated"`
	PixelPh  []float64          `json:"pixel_mse_photos"`
	Feat     map[string]float64 `json:"feature_distance_generated"`
	FeatPh   map[string]float64 `json:"feature_distance_photos"`
	// LatCurve is Curve under the key it has always had (a misnomer kept
	// for readers of old reports).
	LatCurve []float64 `json:"latCurve"`
	// Curve is the mean of each image's best loss so far (BestCurve), at
	// every step, in the variant's own objective.
	Curve   []float64 `json:"curve"`
	Seconds float64   `json:"seconds"`
}

// PixelPhotos is the mean of PixelPh (0 without photos).
func (r LossRow) PixelPhotos() float64 {
	var p float64
	for _, v := range r.PixelPh {
		p += v / float64(len(r.PixelPh))
	}
	return p
}

// LossReport is the result of Losses, as forger project --compare-loss
// prints it and writes it to loss-compare.json (keys in alphabetical
// order, as they always were).
type LossReport struct {
	Generated int       `json:"generated"`
	Photos    []string  `json:"photos"`
	Plot      string    `json:"plot"`
	Steps     int       `json:"steps"`
	Variants  []LossRow `json:"variants"`
	// Metrics names the feature networks every reconstruction is also
	// measured with (the variants' networks, in order).
	Metrics []string `json:"-"`
}

// Losses projects the targets with each variant for steps steps and
// measures the reconstructions: pixel MSE and distance to the true z of the
// generated images, and the distance in every variant's feature network
// (loaded by features, by name). It plots the curves into Out and writes
// the report to Out/loss-compare.json.
func (c *Comparison) Losses(ctx context.Context, vs []LossVariant, steps int, features func(name string) (Features, error)) (*LossReport, error) {
	t, truth, n := c.Targets, c.Truth, len(c.Truth)
	// Every feature network named is also a yardstick: the distance of the
	// reconstruction to the target in its features.
	var metricNames []string
	metrics := map[string]Features{}
	for _, v := range vs {
		if v.Features != "" && metrics[v.Features] == nil {
			f, err := features(v.Features)
			if err != nil {
				return nil, err
			}
			metrics[v.Features] = f
			metricNames = append(metricNames, v.Features)
		}
	}
	var rows []LossRow
	for _, v := range vs {
		name := v.Name()
		start := time.Now()
		res, err := c.Project(ctx, "", steps, v.Loss, v.Features, name)
		if err != nil {
			return nil, err
		}
		curve := BestCurve(res.Loss, 0, len(res.Loss))
		r := LossRow{Variant: name, Seconds: time.Since(start).Seconds(), Feat: map[string]float64{}, FeatPh: map[string]float64{}, LatCurve: curve, Curve: curve}
		imgs, err := RenderAll(ctx, c.G, res.Codes)
		if err != nil {
			return nil, err
		}
		recon := tensor.FromData(imgs, t.Shape...)
		pix := NewObjective(LossPixel, nil, 0, t)
		pix.Eval(recon, false)
		pixels := append([]float64(nil), pix.Last...)
		for i := 0; i < n; i++ {
			r.PixelGen += pixels[i] / float64(n)
			var d float64
			for j, x := range res.Codes[i].Z {
				e := float64(x - truth[i].Z[j])
				d += e * e
			}
			r.ZDist += math.Sqrt(d) / float64(n)
		}
		r.PixelPh = pixels[n:]
		for _, m := range metricNames {
			o := NewObjective(LossPerceptual, metrics[m], 1, t)
			o.Eval(recon, false)
			for i, l := range o.Last {
				if i < n {
					r.Feat[m] += l / float64(n)
				} else if len(c.Photos) > 0 {
					r.FeatPh[m] += l / float64(len(c.Photos))
				}
			}
		}
		rows = append(rows, r)
	}
	var series []picture.Series
	for _, r := range rows {
		series = append(series, picture.Series{Name: r.Variant, Y: log10s(r.Curve)})
	}
	plot := filepath.Join(c.Out, "loss-curves.png")
	if err := picture.PlotLines(plot, "Projection loss (own objective, best so far)", "step", "log10 loss", series); err != nil {
		return nil, err
	}
	rep := &LossReport{Steps: steps, Generated: n, Photos: c.Photos, Variants: rows, Plot: plot, Metrics: metricNames}
	if err := writeJSON(filepath.Join(c.Out, "loss-compare.json"), rep); err != nil {
		return nil, err
	}
	return rep, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// fileSafe replaces what is not a letter, a digit, - or _ by -.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '-'
	}, s)
}
