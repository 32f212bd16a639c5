package judge

import (
	"context"
	"errors"
	"image"
	"image/color"
	"math"

	"forger/blas"
	"forger/parallel"
	"forger/picture"
)

// Memorisation says how close a generator's samples are to the images it
// was trained on, in the judge's features. A sample counts as memorised
// when it is closer to its nearest training image than that training image
// is to any other training image: a generator that copies scores near 1;
// new images of the same kind score about what held-out real images do
// (SharePeer), which is the number to compare with.
type Memorisation struct {
	Share     float64 `json:"memorised"`      // share of the samples
	SharePeer float64 `json:"memorised_real"` // share of held-out real images; -1 when none were given
	N         int     `json:"memorised_n"`    // samples
	Train     int     `json:"memorised_train"`
	// FDTrain is the fd of the training images themselves against the
	// test images (set by Report.AddMemorisation): what a generator that
	// copies them all scores. Fewer training images than the test set's
	// variety make it high; a small subset of the real data makes it low.
	FDTrain *float64 `json:"fd_train,omitempty"`

	trainFit *Gaussian // the training features' fit, for FDTrain

	// Nearest is, for each sample, the index of the nearest training image,
	// and Dist the Euclidean distance to it.
	Nearest []int     `json:"-"`
	Dist    []float32 `json:"-"`
}

// Nearest measures memorisation: samples, training images and held-out
// real images (may be nil) are images at the judge's size in [-1, 1]. It
// stops with ctx's error once ctx is done.
func Nearest(ctx context.Context, j *Judge, samples, train, heldOut []float32) (*Memorisation, error) {
	sz := j.ImageSize()
	if len(samples) < sz || len(train) < 2*sz {
		return nil, errors.New("judge: memorisation needs samples and at least two training images")
	}
	tp, err := j.Predict(ctx, train, nil)
	if err != nil {
		return nil, err
	}
	tf := tp.Feats
	radius := kthNeighbour(tf, FeatureDim, 1)
	sp, err := j.Predict(ctx, samples, nil)
	if err != nil {
		return nil, err
	}
	sf := sp.Feats
	m := &Memorisation{N: len(samples) / sz, Train: len(train) / sz, SharePeer: -1}
	m.Nearest, m.Dist = nearestIn(sf, tf, FeatureDim)
	if fit, err := Fit(tf, FeatureDim); err == nil {
		m.trainFit = &fit
	}
	m.Share = memorisedShare(m.Nearest, m.Dist, radius)
	if len(heldOut) >= sz {
		hp, err := j.Predict(ctx, heldOut, nil)
		if err != nil {
			return nil, err
		}
		hf := hp.Feats
		idx, dist := nearestIn(hf, tf, FeatureDim)
		m.SharePeer = memorisedShare(idx, dist, radius)
	}
	return m, nil
}

func memorisedShare(idx []int, dist, radius []float32) float64 {
	k := 0
	for i, t := range idx {
		if dist[i]*dist[i] < radius[t] {
			k++
		}
	}
	return float64(k) / float64(len(idx))
}

// nearestIn returns, for each vector of q, the index of the nearest vector
// of ref and the Euclidean distance to it (d values per vector).
func nearestIn(q, ref []float32, d int) ([]int, []float32) {
	nq, nr := len(q)/d, len(ref)/d
	normQ, normR := sqNorms(q, d), sqNorms(ref, d)
	idx := make([]int, nq)
	dist := make([]float32, nq)
	buf := make([]float32, distBlock*nr)
	for lo := 0; lo < nq; lo += distBlock {
		hi := min(nq, lo+distBlock)
		blas.Sgemm(false, true, hi-lo, nr, d, -2, q[lo*d:hi*d], d, ref, d, 0, buf, nr)
		parallel.For(hi-lo, 16, parallel.Func(func(a, b int) {
			for i := a; i < b; i++ {
				best, bi := float32(math.Inf(1)), 0
				for r, v := range buf[i*nr : (i+1)*nr] {
					if dd := v + normQ[lo+i] + normR[r]; dd < best {
						best, bi = dd, r
					}
				}
				idx[lo+i], dist[lo+i] = bi, float32(math.Sqrt(float64(max(best, 0))))
			}
		}))
	}
	return idx, dist
}

// NearestSheet draws up to pairs samples, each beside its nearest training
// image: eight pairs to a row, a blank column between pairs.
func NearestSheet(j *Judge, m *Memorisation, samples, train []float32, pairs int) image.Image {
	sz, side, ch := j.ImageSize(), j.Cfg.Size, j.Cfg.Channels
	pairs = min(pairs, m.N)
	scale := max(1, 64/side)
	px := side * scale
	var tiles []image.Image
	for i := range pairs {
		s := picture.FromTensor(samples[i*sz:(i+1)*sz], side, ch)
		t := m.Nearest[i]
		n := picture.FromTensor(train[t*sz:(t+1)*sz], side, ch)
		tiles = append(tiles, picture.Upscale(s, scale), picture.Upscale(n, scale))
	}
	// Pairs side by side, a gap between pairs: each pair is one tile.
	pairTiles := make([]image.Image, 0, len(tiles)/2)
	for i := 0; i+1 < len(tiles); i += 2 {
		pair := picture.Grid([]image.Image{tiles[i], tiles[i+1]}, 2, 0, color.White)
		pairTiles = append(pairTiles, pair)
	}
	return picture.Grid(pairTiles, 8, px/4, color.White)
}
