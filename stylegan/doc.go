// Package stylegan is StyleGAN2's generator and discriminator (Karras et
// al., "Analyzing and improving the image quality of StyleGAN", following
// the semantics of NVlabs' stylegan2-ada-pytorch networks.py) on forger's
// CPU layers, at the sizes a CPU trains: 32, 64 and 128.
//
// The generator is a mapping network z → w (pixel norm, fully connected
// layers with leaky ReLU, learning rate ×0.01, a running average of w for
// truncation) and a synthesis network from a learned 4×4 constant through
// two modulated 3×3 convolutions per resolution, each with per-pixel noise
// of learned strength, to an RGB image per resolution summed into the
// output (the "skip" architecture). The discriminator is the residual one
// with minibatch stddev. Every layer has equalized learning rate.
//
// Design choices:
//
//   - Modulated convolutions run as StyleGAN2's non-fused path (nn.ModConv2d):
//     scale the input by the style, convolve with the shared weight, scale
//     the output by the demodulation coefficients. It is exactly the
//     per-sample grouped convolution, and on a CPU it is one GEMM over the
//     whole batch instead of N small ones. The demodulation, noise, bias and
//     leaky ReLU that follow read and write the activations once each way
//     (nn.ModEpilogue) rather than once per step.
//   - Resampling is StyleGAN2's upfirdn2d with the [1,3,3,1] filter, exactly
//     (nn.UpFIRDn2d), borders included: the upsampling convolution is a
//     stride-2 transposed convolution followed by the blur, as
//     conv2d_resample does, a quarter of the multiply-adds of convolving
//     the upsampled image; the discriminator blurs before its stride-2
//     convolutions and shortcuts. So the networks agree with the PyTorch
//     reference to rounding (scripts/stylegan-reference.py,
//     TestMatchesPyTorch), and StyleGAN2 checkpoints map onto them by
//     permuting axes (weights here are [out, kh, kw, in], activations NHWC).
//   - The synthesis network takes W+ ([N, NumWs, WDim], one w per layer) and
//     its Backward returns the gradient of W+, so style mixing (Mix,
//     Crossover), truncation (Mapping.Truncate) and W / W+ projection all go
//     through the same two calls; W is W+ with every layer equal
//     (Broadcast, SumLayers).
//   - Noise is random in training (seeded, so runs are reproducible) and can
//     be the layers' constant noise images (nn.NoiseConst) so that a w gives
//     the same image every time, or images the caller gives and gets the
//     gradient of (nn.NoiseGiven), for a projector that optimises noise.
//   - Second derivatives, which PyTorch takes by double backward, are
//     finite-difference Hessian-vector products with the leaky ReLUs' masks
//     held, as gan's lazy R1 does: the discriminator can hold its masks
//     (Discriminator.HoldMasks), which R1 needs, and PathLength, StyleGAN2's
//     path-length regulariser, holds the synthesis network's and fixes its
//     noise. Demodulation, modulation and resampling are smooth, so the
//     differences are exact up to rounding and O(ε²).
//   - The default widths (DefaultConfig) are CPU-sized: feature maps
//     min(2048/res, 256), forger's DCGAN widths, rather than StyleGAN2's
//     min(32768/res, 512).
package stylegan
