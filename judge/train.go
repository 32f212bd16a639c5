package judge

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"forger/nn"
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
	if o.Epochs < 1 || o.Batch < 2 || o.LR <= 0 || o.Limit < 0 {
		return nil, fmt.Errorf("--epochs must be ≥ 1, --batch ≥ 2, --lr positive and --limit ≥ 0")
	}
	train := s.Train
	if o.Limit > 0 {
		train = First(train, o.Limit)
	}
	if train.Len() < 2 {
		return nil, fmt.Errorf("%d training images: the judge needs at least 2", train.Len())
	}
	batch := min(o.Batch, train.Len())
	cfg := Config{Data: s.Name, Size: train.Size, Channels: train.Channels, Classes: s.Classes,
		TrainImages: train.Len(), Epochs: o.Epochs, Seed: o.Seed}
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
	var dlogits *tensor.Tensor
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
			train.Batch(perm[step*batch:(step+1)*batch], x.Data, labels)
			feats := j.Body.Forward(x)
			logits := j.Head.Forward(feats)
			dlogits = tensor.Ensure(dlogits, logits.Shape...)
			loss, correct := nn.SoftmaxCrossEntropy(logits, labels, dlogits)
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
	_, preds := j.Run(s.Test.Images, nil)
	j.Cfg.TestAccuracy = Accuracy(preds, s.Test.Labels)
	j.Cfg.TestImages = s.Test.Len()
	return j, nil
}
