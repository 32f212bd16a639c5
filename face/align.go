package face

import (
	"forger/picture"
	"image"
	"math"
)

// The aligned layout (FFHQ-like): in a size×size output, the left eye's
// centre (landmarks 36–41) lands on (AlignLeftX·size, AlignEyeY·size) and
// the right eye's (42–47) on (AlignRightX·size, AlignEyeY·size), in the
// pixel convention of Point. The eyes are then 0.3·size apart; a frontal
// face's jaw spans about 0.6·size and its chin sits near 0.9·size.
const (
	AlignLeftX  = 0.35
	AlignRightX = 0.65
	AlignEyeY   = 0.40
)

// AlignTransform is the similarity (rotation, scale, shift) mapping image
// pixels to the size×size aligned output, taking the eye centres
// leftEye and rightEye to their places in the layout above.
func AlignTransform(leftEye, rightEye Point, size int) Similarity {
	s := float64(size)
	return SimilarityFromPairs(leftEye, rightEye,
		Point{AlignLeftX * s, AlignEyeY * s}, Point{AlignRightX * s, AlignEyeY * s})
}

// Align returns the size×size aligned crop of the face whose eye centres
// are leftEye and rightEye in img: turned so that the eyes are level,
// scaled so that they are 0.3·size apart, shifted onto the layout above,
// resampled with Catmull-Rom (averaging when shrinking). Where the crop
// reaches beyond img, edge says what fills it.
func Align(img image.Image, leftEye, rightEye Point, size int, edge Edge) *image.RGBA {
	return Warp(picture.RGBA(img), AlignTransform(leftEye, rightEye, size), size, size, edge)
}

// Upscale is how much Align magnifies the face for an output of side
// size: the output's eye distance over the image's (> 1 means the crop is
// blurrier than the photo).
func Upscale(leftEye, rightEye Point, size int) float64 {
	d := math.Hypot(rightEye[0]-leftEye[0], rightEye[1]-leftEye[1])
	return (AlignRightX - AlignLeftX) * float64(size) / d
}

// DescriptorBox is the crop face-api.js takes from an image of width×height
// to compute the descriptor of the face with landmarks lm
// (FaceLandmarks.align with useDlibAlignment, then clipAtImageBorders, as
// in its withFaceDescriptors task): with l, r and m the centres of the
// left eye, right eye and mouth (landmarks 36–41, 42–47, 48–67), a square
// of side s = ⌊(|m−l| + |m−r|)/2 / 0.45⌋ whose point (0.5·s, 0.43·s) is
// the mean of l, r and m, its corner rounded down and kept in the image,
// then clipped to the image. It is not rotated: face-api does not turn
// faces upright before describing them.
func DescriptorBox(lm *Landmarks, width, height int) image.Rectangle {
	mean := func(from, to int) Point {
		var p Point
		for _, q := range lm[from:to] {
			p[0] += float64(q[0])
			p[1] += float64(q[1])
		}
		n := float64(to - from)
		return Point{p[0] / n, p[1] / n}
	}
	l, r, m := mean(36, 42), mean(42, 48), mean(48, 68)
	dist := (math.Hypot(m[0]-l[0], m[1]-l[1]) + math.Hypot(m[0]-r[0], m[1]-r[1])) / 2
	size := math.Floor(dist / 0.45)
	cx, cy := (l[0]+r[0]+m[0])/3, (l[1]+r[1]+m[1])/3
	x := math.Floor(math.Max(0, cx-0.5*size))
	y := math.Floor(math.Max(0, cy-0.43*size))
	box := image.Rect(int(x), int(y), int(x+size), int(y+size))
	return box.Intersect(image.Rect(0, 0, width, height))
}

// DescriptorCrop is img's part inside DescriptorBox (bounds from (0, 0)),
// the input face-api gives its recognition network.
func DescriptorCrop(img image.Image, lm *Landmarks) *image.RGBA {
	src := picture.RGBA(img)
	r := DescriptorBox(lm, src.Rect.Dx(), src.Rect.Dy())
	out := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := 0; y < r.Dy(); y++ {
		copy(out.Pix[y*out.Stride:][:4*r.Dx()], src.Pix[src.PixOffset(r.Min.X, r.Min.Y+y):])
	}
	return out
}

// DescriptorCropUpright is DescriptorCrop taken in the face's upright
// frame: the image turned about the eyes' midpoint so that the eyes are
// level (Catmull-Rom at the photo's own scale; black beyond it), and
// face-api's box of the turned landmarks cut from it. For a level face it
// is DescriptorCrop (a turn by 0 and a whole-pixel shift copy the pixels);
// for a tilted one it is closer to what the network was trained on (dlib
// turns faces upright before describing them), and the descriptor does not
// drift with the tilt: turning astronaut.png by ±25° moves the descriptor
// of face-api's crop by 0.56–0.64 (past SamePerson) but this one's by at
// most 0.11.
func DescriptorCropUpright(img image.Image, lm *Landmarks) *image.RGBA {
	src := picture.RGBA(img)
	le, re := eyeCentres(lm)
	angle := math.Atan2(re[1]-le[1], re[0]-le[0])
	mid := Point{(le[0] + re[0]) / 2, (le[1] + re[1]) / 2}
	turn := Similarity{Scale: 1, Angle: -angle}
	p := turn.Apply(mid)
	turn.Tx, turn.Ty = mid[0]-p[0], mid[1]-p[1]
	var up Landmarks
	for i, q := range lm {
		r := turn.Apply(Point{float64(q[0]), float64(q[1])})
		up[i] = [2]float32{float32(r[0]), float32(r[1])}
	}
	// face-api's box in the turned frame, not clipped: Warp fills what lies
	// beyond the photo with black, as face-api's padding would.
	box := DescriptorBox(&up, math.MaxInt32/4, math.MaxInt32/4)
	turn.Tx -= float64(box.Min.X)
	turn.Ty -= float64(box.Min.Y)
	return Warp(src, turn, box.Dx(), box.Dy(), EdgeBlack)
}

// EmbedFaceUpright is EmbedFace on DescriptorCropUpright: the descriptor
// forger's face index uses.
func (d *DescriptorNet) EmbedFaceUpright(img image.Image, lm *Landmarks) Descriptor {
	return d.Embed(DescriptorCropUpright(img, lm))
}

// EmbedFace returns the descriptor of the face with landmarks lm in img,
// computed as face-api.js's detectAllFaces().withFaceLandmarks()
// .withFaceDescriptors() does from the same landmarks: DescriptorCrop,
// padded to a square (black, centred) and resized to 150×150 (bilinear),
// then the recognition network.
func (d *DescriptorNet) EmbedFace(img image.Image, lm *Landmarks) Descriptor {
	return d.Embed(DescriptorCrop(img, lm))
}

// Layout places the eye centres of an aligned face: the left eye's at
// (LeftX·size, EyeY·size) and the right eye's at (RightX·size,
// EyeY·size). DefaultLayout is Align's.
type Layout struct{ LeftX, RightX, EyeY float64 }

// DefaultLayout is the layout of Align (and forger face align).
var DefaultLayout = Layout{AlignLeftX, AlignRightX, AlignEyeY}

// CartoonLayout is the layout of the cartoon-faces data set (forger data get
// cartoon-faces: facesjs draws the eyes at y = 310, x = 140 and 260, in a
// crop of x −30…430, y 50…510), for framing photos as a face GAN trained
// on it saw its faces.
var CartoonLayout = Layout{LeftX: 170.0 / 460, RightX: 290.0 / 460, EyeY: 260.0 / 460}

// Layouts names the layouts for command-line flags.
var Layouts = map[string]Layout{"ffhq": DefaultLayout, "cartoon": CartoonLayout}

// AlignLayout is Align with the eyes placed by l: for framing a face the
// way another data set frames its faces (a GAN's training images, say).
func AlignLayout(img image.Image, leftEye, rightEye Point, size int, l Layout, edge Edge) *image.RGBA {
	s := float64(size)
	t := SimilarityFromPairs(leftEye, rightEye, Point{l.LeftX * s, l.EyeY * s}, Point{l.RightX * s, l.EyeY * s})
	return Warp(picture.RGBA(img), t, size, size, edge)
}
