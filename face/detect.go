package face

import (
	"cmp"
	_ "embed"
	"fmt"
	"forger/picture"
	"image"
	"math"
	"slices"
	"sync"

	pigo "github.com/esimov/pigo/core"
)

// The pigo cascades (github.com/esimov/pigo v1.4.6, MIT, see
// cascade/LICENSE-pigo): facefinder finds upright faces, puploc finds
// pupils.
var (
	//go:embed cascade/facefinder
	facefinderCascade []byte
	//go:embed cascade/puploc
	puplocCascade []byte
)

var cascades struct {
	once   sync.Once
	finder *pigo.Pigo
	pup    *pigo.PuplocCascade
	err    error
}

// loadCascades unpacks the embedded cascades once; both are read-only
// afterwards and safe for concurrent use.
func loadCascades() (*pigo.Pigo, *pigo.PuplocCascade, error) {
	c := &cascades
	c.once.Do(func() {
		f, err := pigo.NewPigo().Unpack(facefinderCascade)
		if err != nil {
			c.err = fmt.Errorf("face: facefinder cascade: %w", err)
			return
		}
		p, err := pigo.NewPuplocCascade().UnpackCascade(puplocCascade)
		if err != nil {
			c.err = fmt.Errorf("face: puploc cascade: %w", err)
			return
		}
		c.finder, c.pup = f, p
	})
	return c.finder, c.pup, c.err
}

// DetectOptions tune the detector. Zero fields take the defaults below.
type DetectOptions struct {
	// MinFace is the smallest face searched for, as a fraction of the
	// image's shorter side (default 0.05; never under 24 px).
	MinFace float64
	// MaxFace is the largest, as a fraction of the shorter side (default 1).
	MaxFace float64
	// Shift is how far the window moves, as a fraction of its size
	// (default 0.12).
	Shift float64
	// ScaleStep is the ratio between successive window sizes (default 1.1).
	ScaleStep float64
	// IoU is the overlap above which raw detections merge (default 0.2).
	IoU float64
	// MinScore is the merged score a detection needs (default 5; pigo's
	// own command line uses 5 too).
	MinScore float64
	// Angles are the in-plane rotations (radians) the cascade runs at;
	// pigo's cascade finds faces turned by up to about ±15° from each.
	// Default: 0 and ±π/8 (±22.5°), which find the astronaut turned
	// anywhere from −35° to +40°.
	Angles []float64
	// MaxSide: the cascade runs on a copy of the image shrunk so that its
	// longer side is at most MaxSide pixels (default 1024); the landmarks
	// always use the full image.
	MaxSide int
}

func (o DetectOptions) withDefaults() DetectOptions {
	def := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MinFace, 0.05)
	def(&o.MaxFace, 1)
	def(&o.Shift, 0.12)
	def(&o.ScaleStep, 1.1)
	def(&o.IoU, 0.2)
	def(&o.MinScore, 5)
	if o.Angles == nil {
		o.Angles = []float64{0, -math.Pi / 8, math.Pi / 8}
	}
	if o.MaxSide <= 0 {
		o.MaxSide = 1024
	}
	return o
}

// Box is an axis-aligned rectangle in image pixels.
type Box struct {
	X, Y, W, H float64
}

// Center is the box's centre.
func (b Box) Center() Point { return Point{b.X + b.W/2, b.Y + b.H/2} }

// Face is one detected face, in the pixel coordinates of the image given to
// Detect.
type Face struct {
	// Box is the face's box: the landmarks' bounding box grown by 10% on
	// each side (what face-api.js calls the aligned rectangle), axis-aligned.
	Box Box
	// Detection is the square box the pigo cascade found.
	Detection Box
	// Score is pigo's score of the detection (the sum of the scores of the
	// raw windows merged into it).
	Score float64
	// Landmarks are the 68 points (see Landmarks).
	Landmarks Landmarks
	// LeftEye and RightEye are the centres of landmarks 36–41 and 42–47:
	// the eye on the image's left and the one on its right when the face
	// is upright (the person's right and left eye in a non-mirrored photo).
	LeftEye, RightEye Point
	// Angle is the eye line's angle in radians (0 when level, positive
	// when the right eye is lower).
	Angle float64
	// Pupils are where pigo's pupil cascade put the left and right pupils.
	Pupils [2]Point
	// EyesOK is false when the eyes cannot be trusted (pigo's pupil
	// cascade finds no pupil near a landmark eye, or the mouth is not
	// below the eyes); Problem then says why.
	EyesOK  bool
	Problem string
	// MouthOffset is the mouth's centre relative to the eyes' midpoint
	// in the upright face, in eye distances (about (0, 1) for a frontal
	// face).
	MouthOffset Point
}

// EyeDistance is the distance between the eye centres in pixels.
func (f *Face) EyeDistance() float64 {
	return math.Hypot(f.RightEye[0]-f.LeftEye[0], f.RightEye[1]-f.LeftEye[1])
}

// Detector finds faces with pigo's cascade and places their 68 landmarks
// with face-api.js's landmark network. It is not safe for concurrent use
// (the network is not).
type Detector struct {
	Options DetectOptions

	lm     *LandmarkNet
	finder *pigo.Pigo
	pup    *pigo.PuplocCascade
}

// NewDetector makes a detector that uses lm for the landmarks.
func NewDetector(lm *LandmarkNet, opts DetectOptions) (*Detector, error) {
	f, p, err := loadCascades()
	if err != nil {
		return nil, err
	}
	return &Detector{Options: opts, lm: lm, finder: f, pup: p}, nil
}

// LoadDetector loads the landmark network from dir (usually DefaultDir())
// and makes a detector with the default options.
func LoadDetector(dir string) (*Detector, error) {
	lm, err := LoadLandmarkNet(dir)
	if err != nil {
		return nil, err
	}
	return NewDetector(lm, DetectOptions{})
}

// Thresholds of Detect (see Detect).
const (
	minBoxRatio = 0.7  // landmark box side / cascade window side, at least
	maxBoxRatio = 1.6  // and at most
	minVerify   = 40.0 // Verify's score a face needs
	maxPupilOff = 0.35 // pupil to landmark eye centre, in eye distances
)

// Detect finds the faces in img, largest (by box area) first.
//
// The pigo cascade proposes windows (Candidates); for each, the landmark
// network runs on a crop of the window, then on crops re-centred, re-sized
// and turned upright from its previous answer until they settle (see
// landmarkFace). A window is dropped as not a face when the landmarks'
// box ends up much smaller or larger than the window (the network chased
// something that is not a face), or when the cascade, run again on the
// upright crop of the landmarks' box, does not see a face there (Verify).
// Faces whose eyes coincide, or whose centre lies inside a larger face's
// box, are merged. Each kept face's eyes are then checked (checkEyes).
func (d *Detector) Detect(img image.Image) []Face {
	src := picture.RGBA(img)
	var faces []Face
	for _, c := range d.Candidates(src) {
		f, side := d.landmarkFace(src, c)
		f.Detection, f.Score = c.Box, c.Score
		if r := side / c.Box.W; r < minBoxRatio || r > maxBoxRatio {
			continue
		}
		if d.Verify(src, &f) < minVerify {
			continue
		}
		faces = append(faces, f)
	}
	slices.SortStableFunc(faces, func(a, b Face) int {
		return -cmp.Compare(a.Box.W*a.Box.H, b.Box.W*b.Box.H)
	})
	faces = dedupe(faces)
	for i := range faces {
		d.checkEyes(src, &faces[i])
	}
	return faces
}

// Candidate is a raw detection of the cascade.
type Candidate struct {
	Box   Box
	Score float64
	// Angle is the rotation the cascade ran at (one of Options.Angles).
	Angle float64
}

// Candidates runs pigo's face cascade alone: the merged detections scoring
// at least Options.MinScore, best first.
func (d *Detector) Candidates(img image.Image) []Candidate {
	o := d.Options.withDefaults()
	src := picture.RGBA(img)
	gray, gw, gh, f := grayscale(src, o.MaxSide)
	k := float64(f) // detection pixels → image pixels
	short := min(gw, gh)
	minSize := max(int(math.Round(o.MinFace*float64(short))), int(math.Ceil(24/k)), 12)
	maxSize := min(int(math.Round(o.MaxFace*float64(short))), short-2)
	if minSize > maxSize {
		return nil
	}
	params := pigo.CascadeParams{
		MinSize: minSize, MaxSize: maxSize,
		ShiftFactor: o.Shift, ScaleFactor: o.ScaleStep,
		ImageParams: pigo.ImageParams{Pixels: gray, Rows: gh, Cols: gw, Dim: gw},
	}
	// One cascade run per angle, in parallel (the cascade is read-only).
	perAngle := make([][]pigo.Detection, len(o.Angles))
	var wg sync.WaitGroup
	for i, a := range o.Angles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// pigo takes the angle as a fraction of a turn in [0, 1],
			// counter-clockwise on screen.
			f := math.Mod(1-a/(2*math.Pi), 1)
			perAngle[i] = d.finder.ClusterDetections(d.finder.RunCascade(params, f), o.IoU)
		}()
	}
	wg.Wait()
	var out []Candidate
	for i, dets := range perAngle {
		for _, c := range dets {
			if float64(c.Q) < o.MinScore {
				continue
			}
			s := float64(c.Scale) * k
			out = append(out, Candidate{
				Box:   Box{X: float64(c.Col)*k - s/2, Y: float64(c.Row)*k - s/2, W: s, H: s},
				Score: float64(c.Q),
				Angle: o.Angles[i],
			})
		}
	}
	slices.SortStableFunc(out, func(a, b Candidate) int { return -cmp.Compare(a.Score, b.Score) })
	// The same face found at several angles: keep the best scoring.
	var kept []Candidate
	for _, c := range out {
		if !slices.ContainsFunc(kept, func(k Candidate) bool { return iou(k.Box, c.Box) > 0.3 }) {
			kept = append(kept, c)
		}
	}
	return kept
}

// iou is the intersection over union of two boxes.
func iou(a, b Box) float64 {
	w := math.Min(a.X+a.W, b.X+b.W) - math.Max(a.X, b.X)
	h := math.Min(a.Y+a.H, b.Y+b.H) - math.Max(a.Y, b.Y)
	if w <= 0 || h <= 0 {
		return 0
	}
	i := w * h
	return i / (a.W*a.H + b.W*b.H - i)
}

// grayscale converts src to 8-bit luma (BT.601, as pigo's RgbToGrayscale),
// shrunk by the smallest integer factor f (box filter) that makes its
// longer side at most maxSide; it returns the pixels, their width and
// height, and f.
func grayscale(src *image.RGBA, maxSide int) ([]uint8, int, int, int) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	f := 1
	for max(w, h)/f > maxSide {
		f++
	}
	gw, gh := w/f, h/f
	gray := make([]uint8, gw*gh)
	n := uint32(f * f)
	for gy := 0; gy < gh; gy++ {
		for gx := 0; gx < gw; gx++ {
			var sum uint32
			for y := gy * f; y < gy*f+f; y++ {
				row := src.Pix[src.PixOffset(gx*f, y):][:4*f]
				for i := 0; i < len(row); i += 4 {
					sum += 19595*uint32(row[i]) + 38470*uint32(row[i+1]) + 7471*uint32(row[i+2])
				}
			}
			gray[gy*gw+gx] = uint8((sum/n + 1<<15) >> 16)
		}
	}
	return gray, gw, gh, f
}

// The first landmark crop is the cascade's window scaled by firstScale
// about its centre moved down (in the window's upright frame) by
// firstShift of its side: pigo's windows sit higher on the face than the
// landmarks' box (measured on the demo photos: 0.17–0.19 of the side).
const (
	landmarkPasses = 4
	firstScale     = 1.0
	firstShift     = 0.15
)

// landmarkFace places the landmarks of the face in the cascade's window c:
// a first pass on a crop of the window, then passes on crops re-centred,
// re-sized and turned upright from the previous landmarks (face-api's
// aligned box of them) until they settle. It returns the face and the side
// of its last crop.
func (d *Detector) landmarkFace(src *image.RGBA, cand Candidate) (Face, float64) {
	angle := cand.Angle
	side := cand.Box.W * firstScale
	c := cand.Box.Center()
	c[0] -= math.Sin(angle) * firstShift * cand.Box.W
	c[1] += math.Cos(angle) * firstShift * cand.Box.W
	var lm Landmarks
	for pass := 0; pass < landmarkPasses; pass++ {
		lm = d.landmarksInCrop(src, c, side, angle)
		nc, nside, nangle := cropFromLandmarks(&lm)
		moved := math.Hypot(nc[0]-c[0], nc[1]-c[1]) / side
		resized := math.Abs(nside/side - 1)
		turned := math.Abs(nangle - angle)
		c, side, angle = nc, nside, nangle
		if pass > 0 && moved < 0.01 && resized < 0.01 && turned < 0.5*math.Pi/180 {
			break
		}
	}
	return faceFromLandmarks(lm), side
}

// landmarksInCrop runs the landmark network on the square of side side
// centred on c and turned by angle (the face's eye-line angle), and maps
// the points back to image pixels.
func (d *Detector) landmarksInCrop(src *image.RGBA, c Point, side, angle float64) Landmarks {
	// image → crop: rotate by −angle about c, scale to LandmarkSize.
	k := LandmarkSize / side
	toCrop := Similarity{Scale: k, Angle: -angle}
	p := toCrop.Apply(c)
	toCrop.Tx, toCrop.Ty = LandmarkSize/2-p[0], LandmarkSize/2-p[1]
	crop := Warp(src, toCrop, LandmarkSize, LandmarkSize, EdgeBlack)
	lm := d.lm.Landmarks(crop)
	back := toCrop.Invert()
	for i, q := range lm {
		p := back.Apply(Point{float64(q[0]), float64(q[1])})
		lm[i] = [2]float32{float32(p[0]), float32(p[1])}
	}
	return lm
}

// cropFromLandmarks is the next landmark crop for landmarks lm: the eye
// line's angle, and in the frame turned by it, the landmarks' bounding box
// grown by 10% on each side (face-api's aligned rectangle), made square.
func cropFromLandmarks(lm *Landmarks) (Point, float64, float64) {
	le, re := eyeCentres(lm)
	angle := math.Atan2(re[1]-le[1], re[0]-le[0])
	rot := Similarity{Scale: 1, Angle: -angle}
	minX, minY := math.Inf(1), math.Inf(1)
	maxX, maxY := math.Inf(-1), math.Inf(-1)
	for _, q := range lm {
		p := rot.Apply(Point{float64(q[0]), float64(q[1])})
		minX, maxX = math.Min(minX, p[0]), math.Max(maxX, p[0])
		minY, maxY = math.Min(minY, p[1]), math.Max(maxY, p[1])
	}
	side := 1.2 * math.Max(maxX-minX, maxY-minY)
	c := rot.Invert().Apply(Point{(minX + maxX) / 2, (minY + maxY) / 2})
	return c, side, angle
}

// eyeCentres are the means of landmarks 36–41 and 42–47.
func eyeCentres(lm *Landmarks) (Point, Point) {
	var l, r Point
	for i := 0; i < 6; i++ {
		l[0] += float64(lm[36+i][0]) / 6
		l[1] += float64(lm[36+i][1]) / 6
		r[0] += float64(lm[42+i][0]) / 6
		r[1] += float64(lm[42+i][1]) / 6
	}
	return l, r
}

// faceFromLandmarks fills a Face's geometry from its landmarks.
func faceFromLandmarks(lm Landmarks) Face {
	f := Face{Landmarks: lm}
	f.LeftEye, f.RightEye = eyeCentres(&lm)
	f.Angle = math.Atan2(f.RightEye[1]-f.LeftEye[1], f.RightEye[0]-f.LeftEye[0])
	minX, minY := math.Inf(1), math.Inf(1)
	maxX, maxY := math.Inf(-1), math.Inf(-1)
	for _, q := range lm {
		minX, maxX = math.Min(minX, float64(q[0])), math.Max(maxX, float64(q[0]))
		minY, maxY = math.Min(minY, float64(q[1])), math.Max(maxY, float64(q[1]))
	}
	w, h := maxX-minX, maxY-minY
	f.Box = Box{X: minX - 0.1*w, Y: minY - 0.1*h, W: 1.2 * w, H: 1.2 * h}
	return f
}

// Verify re-runs the face cascade on an upright crop around f (turned so
// that its eyes are level, its box at the centre) and returns the best
// score of a detection there, or 0.
func (d *Detector) Verify(img image.Image, f *Face) float64 {
	src := picture.RGBA(img)
	side := math.Max(f.Box.W, f.Box.H)
	const n, boxPx = 96, 48
	c := f.Box.Center()
	toCrop := Similarity{Scale: boxPx / side, Angle: -f.Angle}
	p := toCrop.Apply(c)
	toCrop.Tx, toCrop.Ty = n/2-p[0], n/2-p[1]
	crop := Warp(src, toCrop, n, n, EdgeReplicate)
	gray, _, _, _ := grayscale(crop, n)
	params := pigo.CascadeParams{
		MinSize: boxPx * 2 / 3, MaxSize: boxPx * 3 / 2,
		ShiftFactor: 0.05, ScaleFactor: 1.05,
		ImageParams: pigo.ImageParams{Pixels: gray, Rows: n, Cols: n, Dim: n},
	}
	best := 0.0
	for _, det := range d.finder.ClusterDetections(d.finder.RunCascade(params, 0), 0.2) {
		if math.Hypot(float64(det.Col)-n/2, float64(det.Row)-n/2) < boxPx/3 {
			best = math.Max(best, float64(det.Q))
		}
	}
	return best
}

// checkEyes checks that f's eyes can be trusted: pigo's pupil cascade,
// started at each landmark eye on an upright crop, must find a pupil
// within maxPupilOff eye distances of it, and the mouth must sit below the
// eyes at a plausible distance (the eye line is not the mouth's, as with
// a face seen from the side or a network confused by a non-face).
func (d *Detector) checkEyes(src *image.RGBA, f *Face) {
	f.EyesOK, f.Problem = true, ""
	ipd := f.EyeDistance()
	if ipd < 1 {
		f.EyesOK, f.Problem = false, "the eyes coincide"
		return
	}
	// An upright crop with the eyes 64 px apart.
	const n, eyePx = 256, 64.0
	toCrop := SimilarityFromPairs(f.LeftEye, f.RightEye, Point{n/2 - eyePx/2, n / 2}, Point{n/2 + eyePx/2, n / 2})
	crop := Warp(src, toCrop, n, n, EdgeReplicate)
	gray, _, _, _ := grayscale(crop, n)
	img := pigo.ImageParams{Pixels: gray, Rows: n, Cols: n, Dim: n}
	back := toCrop.Invert()
	worst := 0.0
	for i, x := range []float64{n/2 - eyePx/2, n/2 + eyePx/2} {
		// Perturbs must be 63: pigo sorts all 63 entries of its pooled
		// buffers, so fewer leave stale values in the median.
		p := d.pup.RunDetector(pigo.Puploc{Row: n / 2, Col: int(x), Scale: 0.6 * eyePx, Perturbs: 63}, img, 0, false)
		f.Pupils[i] = back.Apply(Point{float64(p.Col) + 0.5, float64(p.Row) + 0.5})
		worst = math.Max(worst, math.Hypot(float64(p.Col)+0.5-x, float64(p.Row)+0.5-n/2)/eyePx)
	}
	// The mouth in the upright crop, in eye distances from the eyes' midpoint.
	var m Point
	for _, q := range f.Landmarks[48:68] {
		p := toCrop.Apply(Point{float64(q[0]), float64(q[1])})
		m[0] += p[0] / 20
		m[1] += p[1] / 20
	}
	mx, my := (m[0]-n/2)/eyePx, (m[1]-n/2)/eyePx
	switch {
	case worst > maxPupilOff:
		f.EyesOK, f.Problem = false, fmt.Sprintf("no pupil near a landmark eye (off by %.2f eye distances)", worst)
	case my < minMouthDrop || my > maxMouthDrop || math.Abs(mx) > maxMouthSide:
		f.EyesOK, f.Problem = false, fmt.Sprintf("the mouth is not below the eyes (at %.2f, %.2f eye distances)", mx, my)
	}
	f.MouthOffset = Point{mx, my}
}

// Mouth position limits, in eye distances from the eyes' midpoint in the
// upright face (see checkEyes).
const (
	minMouthDrop = 0.6
	maxMouthDrop = 1.8
	maxMouthSide = 0.5
)

// dedupe drops, from faces sorted largest first, a face whose eyes
// coincide with a larger one's (two windows on one face converge to the
// same landmarks) or whose box centre lies inside a larger one's box (a
// window on part of a face).
func dedupe(faces []Face) []Face {
	var out []Face
	for _, f := range faces {
		if !slices.ContainsFunc(out, func(g Face) bool {
			tol := 0.25 * math.Max(f.EyeDistance(), g.EyeDistance())
			c := f.Box.Center()
			return math.Hypot(f.LeftEye[0]-g.LeftEye[0], f.LeftEye[1]-g.LeftEye[1]) < tol &&
				math.Hypot(f.RightEye[0]-g.RightEye[0], f.RightEye[1]-g.RightEye[1]) < tol ||
				c[0] > g.Box.X && c[0] < g.Box.X+g.Box.W && c[1] > g.Box.Y && c[1] < g.Box.Y+g.Box.H
		}) {
			out = append(out, f)
		}
	}
	return out
}
