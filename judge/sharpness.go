package judge

import "math"

// Sharpness is how crisp images are, independent of their contrast: the
// mean over images of the mean absolute difference between neighbouring
// pixels (right and down, every channel) divided by the image's standard
// deviation. A blur lowers it, pixel noise and hard edges raise it, and
// scaling an image's contrast leaves it as it is, so a generator's
// sharpness over the real images' tells soft samples from washed-out ones.
// images holds n images of size×size×channels (NHWC); a flat image counts
// as 0.
func Sharpness(images []float32, size, channels int) float64 {
	per := size * size * channels
	if per == 0 || len(images) < per {
		return 0
	}
	n := len(images) / per
	var total float64
	for i := range n {
		img := images[i*per : (i+1)*per]
		var sum, sq float64
		for _, v := range img {
			sum += float64(v)
			sq += float64(v) * float64(v)
		}
		mean := sum / float64(per)
		sd := math.Sqrt(max(sq/float64(per)-mean*mean, 0))
		if sd < 1e-6 {
			continue
		}
		var diff float64
		var count int
		for y := range size {
			for x := range size {
				at := (y*size + x) * channels
				for c := range channels {
					v := float64(img[at+c])
					if x+1 < size {
						diff += math.Abs(float64(img[at+channels+c]) - v)
						count++
					}
					if y+1 < size {
						diff += math.Abs(float64(img[at+size*channels+c]) - v)
						count++
					}
				}
			}
		}
		if count > 0 {
			total += diff / float64(count) / sd
		}
	}
	return total / float64(n)
}
