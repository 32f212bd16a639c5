// Package lookalike is the studio's look-alike pipeline (studio.Pipeline),
// built from forger's face and latent packages:
//
//   - Align finds the largest face of the visitor's photo (pigo's cascade
//     and face-api's 68 landmarks, face.Detector.LargestFace) and writes it
//     aligned by the eyes (result "aligned", forger face align's layout).
//   - Match computes its 128-D descriptor exactly as forger face index and
//     face match do (face-api's crop taken with the eyes level) and compares
//     it with the gallery — a face index made by forger face index, plus the
//     photos added through the studio's admin gallery API — and writes the
//     nearest and the farthest person's face (results "best" and "worst",
//     labelled with their names and distances).
//   - Render projects the visitor's face and the best match's photo into a
//     face GAN's latent space (latent.Project) and writes the visitor's
//     projection (result "projection"), the morph from one projection to the
//     other (result "morph") and the visitor's projection moved along the
//     model's learned smiling direction (result "smile"), when it has one.
//
// A pipeline shares one copy of each network between the jobs of a
// process: a step waits for the networks it needs, and gives up when its
// job is cancelled.
//
// Its compute is background work: between its pieces — the face
// detection, each descriptor, each projection step, each few frames —
// it calls priority.Checkpoint on the job's context, which waits while the
// studio is making a visitor's pictures (the studio's Runner puts its
// gate in that context). A job is latency-tolerant; a visitor of the
// generate page is not.
package lookalike

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"strings"

	"forger/face"
	"forger/internal/priority"
	"forger/store"
	"forger/studio"
)

// Defaults.
const (
	// DefaultSteps is the number of projection steps: enough for the loss
	// to settle on a 64×64 model, a few seconds on 2 cores.
	DefaultSteps = 120
	// DefaultFrames is the number of frames of the morph.
	DefaultFrames = 30
	// AlignSize is the side of the aligned faces shown (results "aligned",
	// "best" and "worst").
	AlignSize = 256
	// MinEyeDistance is the smallest eye distance, in pixels of the photo,
	// of a face Align accepts: below it the aligned face would be magnified
	// more than 4.8 times and its descriptor is unreliable.
	MinEyeDistance = 16
)

// Reasons given to the visitor (studio.Reject).
const (
	ReasonNoFace       = "no face found in the photo"
	ReasonNoEyes       = "a face was found in the photo, but not its eyes: use a sharp photo of a face looking at the camera"
	ReasonEmptyGallery = "the look-alike gallery is empty: there is nobody to compare you with yet"
)

// Config configures a Pipeline.
type Config struct {
	// FaceModels is the folder of face-api's models ("" = face.DefaultDir(),
	// where scripts/face/get-models.sh installs them).
	FaceModels string
	// Index is a face index made by forger face index (SQLite); "" = none.
	Index string
	// Store holds the gallery entries added through the studio's admin API
	// (nil = none); their photos are in DataDir (studio.GalleryPhotoPath).
	Store   *store.Store
	DataDir string
	// Model is the face GAN's checkpoint (or run folder) Render projects
	// into; "" = none: Render then writes nothing (no morph, no smile).
	Model string
	// Steps is the number of projection steps (default DefaultSteps);
	// Frames the number of frames of the morph (default DefaultFrames).
	Steps, Frames int
	Log           *slog.Logger
}

// Pipeline is the look-alike pipeline; see the package comment.
type Pipeline struct {
	cfg     Config
	log     *slog.Logger
	nets    chan *faceNets // holds the one set of face networks while free
	gallery *gallery
	render  *renderer // nil without a model
}

// Pipeline is the studio's look-alike pipeline.
var _ studio.Pipeline = (*Pipeline)(nil)

// faceNets are the face networks; one goroutine uses them at a time.
type faceNets struct {
	det  *face.Detector
	desc *face.DescriptorNet
}

// ErrFaceModels is wrapped by New's error when face-api's models are not
// installed.
var ErrFaceModels = errors.New("face models are missing")

// New loads the face networks, checks the index and loads the face GAN.
func New(cfg Config) (*Pipeline, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.FaceModels == "" {
		cfg.FaceModels = face.DefaultDir()
	}
	if cfg.Steps <= 0 {
		cfg.Steps = DefaultSteps
	}
	if cfg.Frames < 2 {
		cfg.Frames = DefaultFrames
	}
	det, err := face.LoadDetector(cfg.FaceModels)
	if err == nil {
		var desc *face.DescriptorNet
		if desc, err = face.LoadDescriptorNet(cfg.FaceModels); err == nil {
			p := &Pipeline{cfg: cfg, log: cfg.Log, nets: make(chan *faceNets, 1)}
			p.nets <- &faceNets{det: det, desc: desc}
			return p, p.init()
		}
	}
	if errors.Is(err, face.ErrModelsMissing) {
		return nil, fmt.Errorf("%w in %s: install them with: bash scripts/face/get-models.sh", ErrFaceModels, cfg.FaceModels)
	}
	return nil, err
}

func (p *Pipeline) init() error {
	g, err := newGallery(p.cfg, p.log)
	if err != nil {
		return err
	}
	p.gallery = g
	if p.cfg.Model != "" {
		r, err := newRenderer(p.cfg.Model, p.cfg.Steps, p.cfg.Frames, p.log)
		if err != nil {
			return err
		}
		p.render = r
		p.gallery.target = r.target
	}
	return nil
}

// Describe says, in one line, what the pipeline compares with and renders
// into (forger serve logs it at startup).
func (p *Pipeline) Describe() string {
	parts := []string{"gallery: " + p.gallery.describe()}
	if p.render == nil {
		parts = append(parts, "no morph (no face GAN)")
	} else {
		parts = append(parts, p.render.describe())
	}
	return strings.Join(parts, "; ")
}

// acquire waits for the face networks; release gives them back.
func (p *Pipeline) acquire(ctx context.Context) (*faceNets, func(), error) {
	select {
	case n := <-p.nets:
		return n, func() { p.nets <- n }, nil
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

// visitor is what Align found, for Match and Render (studio.Face.Data).
type visitor struct {
	src    image.Image // the photo the face's coordinates are in (dropped once described)
	face   *face.Face
	desc   face.Descriptor // set by Match
	target []float32       // the face framed for the face GAN (nil without one)
}

// Align finds the largest face of the photo and writes it aligned by the
// eyes (result "aligned"). A photo without a usable face is rejected with
// a sentence for the visitor.
func (p *Pipeline) Align(ctx context.Context, photo image.Image, out *studio.Results) (*studio.Face, error) {
	if err := priority.Checkpoint(ctx); err != nil {
		return nil, err
	}
	nets, release, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	f, src := nets.det.LargestFace(photo)
	release()
	switch {
	case f == nil:
		return nil, studio.Reject(ReasonNoFace)
	case !f.EyesOK:
		return nil, studio.Reject(ReasonNoEyes)
	case f.EyeDistance() < MinEyeDistance:
		return nil, studio.Reject(fmt.Sprintf("the face is too small in the photo (its eyes are %.0f pixels apart, at least %d are needed): use a closer photo", f.EyeDistance(), MinEyeDistance))
	}
	if err := priority.Checkpoint(ctx); err != nil {
		return nil, err
	}
	aligned := face.Align(src, f.LeftEye, f.RightEye, AlignSize, face.EdgeReplicate)
	if err := out.PutPNG("aligned", aligned, "", nil); err != nil {
		return nil, err
	}
	v := &visitor{src: src, face: f}
	if p.render != nil {
		v.target = p.render.target(src, f)
	}
	return &studio.Face{Aligned: aligned, Data: v}, nil
}

// match is what Match found, for Render (studio.Match.Data).
type match struct {
	best *galleryFace
}

// Match compares the visitor's descriptor with every face of the gallery
// and writes the nearest person's face (result "best") and the farthest
// person's (result "worst"), each labelled with the name and distance. A
// person's distance is that of their nearest photo (as forger face match
// says it). A person whose photo cannot be shown (gone, or no face found
// in it any more) is passed over for the next. An empty gallery rejects
// the job.
func (p *Pipeline) Match(ctx context.Context, sf *studio.Face, out *studio.Results) (*studio.Match, error) {
	v, ok := sf.Data.(*visitor)
	if !ok {
		return nil, errors.New("lookalike: Match needs the face of this pipeline's Align")
	}
	if err := priority.Checkpoint(ctx); err != nil {
		return nil, err
	}
	nets, release, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	if v.src != nil { // as face.DescribeLargest does, on the image the face was found in
		v.desc = nets.desc.EmbedFaceUpright(v.src, &v.face.Landmarks)
		v.src = nil // the photo is no longer needed
	}
	if err := priority.Checkpoint(ctx); err != nil {
		return nil, err
	}
	cands, err := p.gallery.candidates(ctx, nets)
	if err != nil {
		return nil, err
	}
	people := rank(cands, v.desc)
	if len(people) == 0 {
		return nil, studio.Reject(ReasonEmptyGallery)
	}
	pick := func(order []ranked) (ranked, *galleryFace) {
		for _, r := range order {
			if priority.Checkpoint(ctx) != nil {
				break // cancelled: Match returns ctx's error below
			}
			gf, err := p.gallery.face(nets, r.cand)
			if err == nil {
				return r, gf
			}
			p.log.Warn("look-alike: a gallery photo cannot be shown; trying the next person", "name", r.cand.name, "photo", r.cand.photo, "err", err)
		}
		return ranked{}, nil
	}
	best, bestFace := pick(people)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if bestFace == nil {
		return nil, studio.Reject("none of the gallery's photos can be shown (the gallery needs repair)")
	}
	rev := make([]ranked, 0, len(people)) // farthest first, the best's person left out
	for i := len(people) - 1; i >= 0; i-- {
		if people[i].cand.name != best.cand.name {
			rev = append(rev, people[i])
		}
	}
	worst, worstFace := pick(rev)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if worstFace == nil { // one person in the gallery
		worst, worstFace = best, bestFace
	}
	m := &studio.Match{
		Best:  studio.GalleryMatch{ID: best.cand.id, Name: best.cand.name, Distance: best.dist},
		Worst: studio.GalleryMatch{ID: worst.cand.id, Name: worst.cand.name, Distance: worst.dist},
		Data:  &match{best: bestFace},
	}
	if err := out.PutPNG("best", bestFace.aligned, m.Best.Name, &m.Best.Distance); err != nil {
		return nil, err
	}
	if err := out.PutPNG("worst", worstFace.aligned, m.Worst.Name, &m.Worst.Distance); err != nil {
		return nil, err
	}
	return m, nil
}

// Render projects the visitor and the best match into the face GAN and
// writes "projection", "morph" and, when the model has a smiling
// direction, "smile" (the morph's label says when it has none). Without a
// face GAN it writes nothing.
func (p *Pipeline) Render(ctx context.Context, sf *studio.Face, sm *studio.Match, out *studio.Results) error {
	if p.render == nil {
		return nil
	}
	v, ok1 := sf.Data.(*visitor)
	m, ok2 := sm.Data.(*match)
	if !ok1 || !ok2 {
		return errors.New("lookalike: Render needs the results of this pipeline's Align and Match")
	}
	return p.render.render(ctx, v, m.best, sm.Best.Name, out)
}

// shortHash names a photo file by a hash of its path (ids never show
// server paths).
func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}
