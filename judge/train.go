package judge

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"forger/optim"
	"forger/tensor"
)

// TrainOptions are the settings of judge training.
type TrainOptions struct {
	Epochs int     // passes over the training split (default 4)
	Batch  int     // images per step (default 128)
	LR     float64 // Adam's peak learning rate, decayed to 0 on a cosine (default 2e-3)
	Limit  int     // if > 0, train on the first Limit training images only
	Seed   uint64  // initial weights and data order
	// Blur, if > 0, also blurs half of a face judge's training images by a
	// Gaussian of σ up to Blur pixels, so that its attributes read a soft
	// face as they read a sharp one (by default a smile under a blur of
	// σ 1 is lost to it). Its features then tell soft from sharp less well:
	// such a judge is for eval's attributes (metrics.Options.AttrJudge).
	Blur float64
}

// DefaultTrainOptions is the recipe that reaches ≥ 91% on Fashion-MNIST.
func DefaultTrainOptions() TrainOptions {
	return TrainOptions{Epochs: 4, Batch: 128, LR: 2e-3, Seed: 1}
}

// Progress receives what a person watching judge training should see.
type Progress interface {
	Start(total int64)
	Update(done int64, desc string)
	Finish()
}

// Train trains a judge on s.Train, then measures it on s.Test and records
// the result in its Config. It stops with ctx's error when ctx is cancelled.
func Train(ctx context.Context, s *Splits, o TrainOptions, ui Progress) (*Judge, error) {
	d := DefaultTrainOptions()
	if o.Epochs == 0 {
		o.Epochs = d.Epochs
	}
	if o.Batch == 0 {
		o.Batch = d.Batch
	}
	if o.LR == 0 {
		o.LR = d.LR
	}
	switch {
	case o.Epochs < 1:
		return nil, &OptionError{Pkg: "judge", Option: "Epochs", Value: o.Epochs, Reason: "must be ≥ 1"}
	case o.Batch < 2:
		return nil, &OptionError{Pkg: "judge", Option: "Batch", Value: o.Batch, Reason: "must be ≥ 2"}
	case !(o.LR > 0):
		return nil, &OptionError{Pkg: "judge", Option: "LR", Value: o.LR, Reason: "must be positive"}
	case o.Limit < 0:
		return nil, &OptionError{Pkg: "judge", Option: "Limit", Value: o.Limit, Reason: "must be ≥ 0"}
	case o.Blur < 0 || o.Blur > MaxBlur:
		return nil, &OptionError{Pkg: "judge", Option: "Blur", Value: o.Blur, Reason: fmt.Sprintf("must be between 0 and %g pixels", float64(MaxBlur))}
	case o.Blur > 0 && len(s.Attributes) == 0:
		return nil, &OptionError{Pkg: "judge", Option: "Blur", Value: o.Blur, Reason: "is for a face judge: only its training images are jittered"}
	}
	train, trainAttrs := s.Train, s.TrainAttrs
	if o.Limit > 0 {
		train = First(train, o.Limit)
		trainAttrs = s.firstAttrs(trainAttrs, train.Len())
	}
	if train.Len() < 2 {
		return nil, fmt.Errorf("%d training images: the judge needs at least 2", train.Len())
	}
	batch := min(o.Batch, train.Len())
	cfg := Config{Data: s.Name, Size: train.Size, Channels: train.Channels, Classes: s.Classes,
		Attributes: s.Attributes, TrainImages: train.Len(), Epochs: o.Epochs, Seed: o.Seed, Blur: o.Blur}
	j, err := New(cfg, o.Seed)
	if err != nil {
		return nil, err
	}
	params := j.Params()
	opt := optim.NewAdam(params, o.LR, 0.9, 0.999)
	steps := train.Len() / batch
	total := o.Epochs * steps
	x := tensor.New(batch, train.Size, train.Size, train.Channels)
	labels := make([]int32, batch)
	na := len(s.Attributes)
	attrs := make([]uint8, batch*na)
	var dlogits *tensor.Tensor
	jrng := rand.New(rand.NewPCG(o.Seed, 0x117e))
	start := time.Now()
	if ui != nil {
		ui.Start(int64(total * batch))
	}
	j.SetTraining(true)
	var lossAvg, accAvg float64
	for epoch := 0; epoch < o.Epochs; epoch++ {
		perm := rand.New(rand.NewPCG(o.Seed, uint64(epoch)+7)).Perm(train.Len())
		for step := 0; step < steps; step++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			t := epoch*steps + step
			opt.LR = o.LR * 0.5 * (1 + math.Cos(math.Pi*float64(t)/float64(total)))
			idx := perm[step*batch : (step+1)*batch]
			train.Batch(idx, x.Data, labels)
			for r, i := range idx {
				copy(attrs[r*na:(r+1)*na], trainAttrs[i*na:(i+1)*na])
			}
			if na > 0 {
				jitter(x, jrng, o.Blur)
			}
			feats := j.Body.Forward(x)
			logits := j.Head.Forward(feats)
			dlogits = tensor.Ensure(dlogits, logits.Shape...)
			loss, correct := classAttrLoss(logits, labels, attrs, len(s.Classes), dlogits)
			j.Body.Backward(j.Head.Backward(dlogits))
			opt.Step()
			a := 0.05
			if t == 0 {
				a = 1
			}
			lossAvg = (1-a)*lossAvg + a*loss
			accAvg = (1-a)*accAvg + a*float64(correct)/float64(batch)
			if ui != nil {
				ui.Update(int64((t+1)*batch), fmt.Sprintf("epoch %d/%d loss %.3f acc %.1f%%", epoch+1, o.Epochs, lossAvg, 100*accAvg))
			}
		}
	}
	if ui != nil {
		ui.Finish()
	}
	j.SetTraining(false)
	j.Cfg.Seconds = time.Since(start).Seconds()
	p, err := j.Predict(ctx, s.Test.Images, nil)
	if err != nil {
		return nil, err
	}
	j.Cfg.TestAccuracy = Accuracy(p.Class, s.Test.Labels)
	j.Cfg.TestImages = s.Test.Len()
	if na > 0 {
		j.Cfg.AttrAccuracy, j.Cfg.AttrBalanced = map[string]float64{}, map[string]float64{}
		for k, name := range s.Attributes {
			var ok, pos, posOK, neg, negOK int
			for i := range s.Test.Len() {
				want := s.TestAttrs[i*na+k] == 1
				got := p.Attr[i*na+k] > 0.5
				if want == got {
					ok++
				}
				if want {
					pos++
					if got {
						posOK++
					}
				} else {
					neg++
					if !got {
						negOK++
					}
				}
			}
			j.Cfg.AttrAccuracy[name] = float64(ok) / float64(s.Test.Len())
			j.Cfg.AttrBalanced[name] = (ratio(posOK, pos) + ratio(negOK, neg)) / 2
		}
	}
	return j, nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// classAttrLoss is the judge's training loss on logits [N, k+a]: softmax
// cross-entropy of the first k against labels, plus the mean binary
// cross-entropy of each of the a attribute logits against attrs (N×a 0/1
// values). It writes the gradient into grad and returns the mean loss per
// image and the number of images whose class is right.
func classAttrLoss(logits *tensor.Tensor, labels []int32, attrs []uint8, k int, grad *tensor.Tensor) (float64, int) {
	n, w := logits.Shape[0], logits.Shape[1]
	a := w - k
	var loss float64
	correct := 0
	for i := 0; i < n; i++ {
		row, g := logits.Data[i*w:(i+1)*w], grad.Data[i*w:(i+1)*w]
		m := row[0]
		for _, v := range row[:k] {
			m = max(m, v)
		}
		var sum float64
		for _, v := range row[:k] {
			sum += math.Exp(float64(v - m))
		}
		best := 0
		for c := 0; c < k; c++ {
			p := math.Exp(float64(row[c]-m)) / sum
			t := 0.0
			if int32(c) == labels[i] {
				t = 1
				loss -= math.Log(max(p, 1e-30))
			}
			g[c] = float32((p - t) / float64(n))
			if row[c] > row[best] {
				best = c
			}
		}
		if int32(best) == labels[i] {
			correct++
		}
		for t := 0; t < a; t++ {
			x := float64(row[k+t])
			y := float64(attrs[i*a+t])
			// BCE with logits, stable: max(x,0) − x·y + log(1+e^−|x|).
			loss += max(x, 0) - x*y + math.Log1p(math.Exp(-math.Abs(x)))
			g[k+t] = float32((sigmoid(x) - y) / float64(n))
		}
	}
	return loss / float64(n), correct
}

// jitter perturbs each image of a face judge's training batch a little —
// a shift of up to 1/32 of the side (2 pixels at 64; edges repeated), brightness ±0.08, contrast
// ×0.85–1.15 and pixel noise of σ up to 0.03 (values in [-1, 1]) — without
// changing what it shows. Faces rendered without any variation of these
// would otherwise teach the judge features that leap at the smallest
// change of colour or position, and generated faces would all look equally
// foreign to it. With blur > 0, half the images are also blurred by a
// Gaussian of σ drawn up to blur pixels.
func jitter(x *tensor.Tensor, rng *rand.Rand, blur float64) {
	n, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	per := h * w * c
	tmp := make([]float32, per)
	for i := range n {
		img := x.Data[i*per : (i+1)*per]
		r := max(1, h/32)
		dy, dx := rng.IntN(2*r+1)-r, rng.IntN(2*r+1)-r
		copy(tmp, img)
		for y := range h {
			sy := min(max(y-dy, 0), h-1)
			for xx := range w {
				sx := min(max(xx-dx, 0), w-1)
				copy(img[(y*w+xx)*c:(y*w+xx+1)*c], tmp[(sy*w+sx)*c:(sy*w+sx+1)*c])
			}
		}
		bright := float32(0.16*rng.Float64() - 0.08)
		contrast := float32(0.85 + 0.3*rng.Float64())
		sigma := 0.03 * rng.Float64()
		var m float64
		for _, v := range img {
			m += float64(v)
		}
		mean := float32(m / float64(per))
		for k, v := range img {
			v = (v-mean)*contrast + mean + bright + float32(sigma*rng.NormFloat64())
			img[k] = min(max(v, -1), 1)
		}
		if blur > 0 && rng.IntN(2) == 0 {
			gaussianBlur(img, tmp, h, w, c, blur*rng.Float64())
		}
	}
}

// MaxBlur is the largest TrainOptions.Blur, in pixels.
const MaxBlur = 4

// gaussianBlur blurs the h×w×c image img in place by a Gaussian of σ
// pixels (edges repeated), as two passes of a 1-D kernel; tmp holds h·w·c
// values.
func gaussianBlur(img, tmp []float32, h, w, c int, sigma float64) {
	r := int(math.Ceil(3 * sigma))
	if r == 0 {
		return
	}
	k := make([]float32, 2*r+1)
	var sum float64
	for i := range k {
		d := float64(i - r)
		v := math.Exp(-d * d / (2 * sigma * sigma))
		k[i] = float32(v)
		sum += v
	}
	for i := range k {
		k[i] /= float32(sum)
	}
	// Along rows into tmp, then along columns back into img.
	for _, p := range []struct {
		from, to []float32
		dy, dx   int
	}{{img, tmp, 0, 1}, {tmp, img, 1, 0}} {
		for y := range h {
			for x := range w {
				for ch := range c {
					var v float32
					for i, kv := range k {
						sy := min(max(y+(i-r)*p.dy, 0), h-1)
						sx := min(max(x+(i-r)*p.dx, 0), w-1)
						v += kv * p.from[(sy*w+sx)*c+ch]
					}
					p.to[(y*w+x)*c+ch] = v
				}
			}
		}
	}
}
