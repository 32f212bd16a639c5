package latent

import (
	"context"
	"image"
	"image/color"
	"path/filepath"

	"forger/gan"
	"forger/picture"
	"forger/tensor"
)

// MinSide is the side small images are upscaled to (at least) in
// comparisons, strips and animations.
const MinSide = 128

// ProjectionReport is what forger project reports of a projection of one
// photo (SaveProjection). Its JSON keys are in alphabetical order, as they
// always were; class only for conditional models, features and
// perceptual_weight only for perceptual losses. Steps, Loss, LR, Noise,
// Optimizer, PerceptualWeight and Prior are what the projection ran with
// (Projection.Options), defaults filled in.
type ProjectionReport struct {
	Class            string  `json:"class,omitempty"`
	Compare          string  `json:"compare"` // photo | reconstruction
	Features         string  `json:"features,omitempty"`
	FinalLoss        float64 `json:"final_loss"`
	GIF              string  `json:"gif"` // the reconstruction as the projection went
	Init             string  `json:"init"`
	InitialLoss      float64 `json:"initial_loss"`
	Latent           string  `json:"latent"`
	Loss             string  `json:"loss"`
	LR               float64 `json:"lr"`
	Noise            float64 `json:"noise"`
	Optimizer        string  `json:"optimizer"`
	PerceptualWeight float64 `json:"perceptual_weight,omitempty"`
	PixelMSE         float64 `json:"pixel_mse"`
	Prior            float64 `json:"prior"` // 0: off
	Reconstruction   string  `json:"reconstruction"`
	Seconds          float64 `json:"seconds"`
	Space            Space   `json:"space"` // z, w or w+

	Steps int `json:"steps"`
}

// SaveProjection writes the files of a projection res of one photo (target
// [1, S, S, C]) into the folder out: latent.json, reconstruction.png,
// compare.png (photo | reconstruction) and projection.gif (res.Frames, then
// the result twice, at 10 frames a second). run carries what the
// projection was that res does not know (Init, Features, Seconds); the rest
// of the report is filled in, the settings from res.Options.
func SaveProjection(g gan.GeneratorNet, model, photo string, target *tensor.Tensor, res *Projection, out string, run ProjectionReport) (*ProjectionReport, error) {
	cfg := g.ModelConfig()
	code := res.Codes[0]
	lf := FileOf(model, code)
	lf.Loss, lf.Source = &res.Best[0], photo
	rep := run
	o := res.Options
	rep.Steps, rep.Loss, rep.LR, rep.Noise, rep.Optimizer, rep.Prior = o.Steps, o.Loss, o.LR, o.Noise, o.Optimizer, o.Prior
	rep.Space = o.Space.norm()
	if o.Loss == LossBoth {
		rep.PerceptualWeight = o.PerceptualWeight
	}
	rep.Latent = filepath.Join(out, "latent.json")
	rep.Reconstruction = filepath.Join(out, "reconstruction.png")
	rep.Compare = filepath.Join(out, "compare.png")
	rep.GIF = filepath.Join(out, "projection.gif")
	if err := lf.Write(rep.Latent); err != nil {
		return nil, err
	}
	recon := Render(g, []Code{code}).Clone()
	if err := picture.WritePNG(rep.Reconstruction, picture.FromTensor(recon.Data, cfg.Size, cfg.Channels)); err != nil {
		return nil, err
	}
	pair := []image.Image{Picture(target.Data, 0, cfg.Size, cfg.Channels, MinSide), Picture(recon.Data, 0, cfg.Size, cfg.Channels, MinSide)}
	if err := picture.WritePNG(rep.Compare, picture.Grid(pair, 2, 2, color.White)); err != nil {
		return nil, err
	}
	var frames []image.Image
	for _, fr := range res.Frames {
		frames = append(frames, picture.Grid([]image.Image{pair[0], Picture(fr, 0, cfg.Size, cfg.Channels, MinSide)}, 2, 2, color.White))
	}
	frames = append(frames, frames[len(frames)-1], frames[len(frames)-1]) // linger on the result
	if err := picture.WriteAnimation(context.Background(), rep.GIF, frames, 10); err != nil {
		return nil, err
	}
	pix := NewObjective(LossPixel, nil, 0, target)
	rep.PixelMSE = pix.Eval(recon, false)
	rep.InitialLoss, rep.FinalLoss = res.Loss[0][0], res.Best[0]
	if cfg.Conditional() {
		rep.Class = cfg.Classes[code.HardClass()]
	}
	return &rep, nil
}
