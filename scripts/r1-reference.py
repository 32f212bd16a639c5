#!/usr/bin/env python3
"""Makes gan/testdata/r1-torch.safetensors: the gradient of the R1 penalty
(gamma/2)·mean_i ||d D(x)_i / d x_i||^2 with respect to a discriminator's
weights, computed by PyTorch's double backward (autograd.grad with
create_graph=True, in float64), for forger's TestR1MatchesPyTorch to compare
with its finite-difference Hessian-vector product.

The discriminators are forger's DCGAN discriminators at 32x32x3 with ndf 8
(gan.NewDiscriminator), rebuilt here in PyTorch on the same random weights:

  conv 4x4 s2 p1 -> LeakyReLU(0.2), three times (8, 16, 32 channels), an
  optional minibatch stddev channel (groups of 4, as StyleGAN), then a 4x4
  convolution to one logit; no biases. With spectral norm each weight W is
  used as W / sigma, sigma = u^T W v for the fixed vectors u and v that
  forger stores (its power iteration is held still during R1), so autograd
  differentiates through sigma with u and v constant, as forger does.

forger stores a convolution's weight as [out, kh, kw, in] and images as
NHWC; PyTorch wants [out, in, kh, kw] and NCHW. Weights, u, v and the
images are drawn here with a fixed seed and written beside the gradients,
under forger's parameter names (gan.Discriminator.Params/Buffers), with the
case's gan.Config as JSON in the metadata.

  /usr/bin/python3 scripts/r1-reference.py gan/testdata/r1-torch.safetensors

Needs Debian's python3-torch and python3-numpy.
"""

import json
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

GAMMA = 10.0
N, SIZE, CH, NDF = 8, 32, 3, 8

CASES = [
    ("sn", {"arch": "dcgan", "size": SIZE, "channels": CH, "nz": 8, "ngf": 8, "ndf": NDF, "spectral_norm": True}),
    ("none_mbstd", {"arch": "dcgan", "size": SIZE, "channels": CH, "nz": 8, "ngf": 8, "ndf": NDF, "mbstd": True, "d_no_norm": True}),
]


def layers(cfg):
    """(name, out, in, k, stride, pad) of each convolution, forger's names."""
    specs, ch, i = [], CH, 0
    for out in (NDF, 2 * NDF, 4 * NDF):
        specs.append(("main.%d.weight" % i, out, ch, 4, 2, 1))
        ch, i = out, i + 2
    if cfg.get("mbstd"):
        ch += 1
    specs.append(("head.weight", 1, ch, 4, 1, 0))
    return specs


def mbstd(x, group=4):
    n, c, h, w = x.shape
    g = min(group, n)
    while n % g:
        g -= 1
    m = n // g
    y = x.reshape(g, m, c, h, w)
    y = y - y.mean(0)
    y = (y.square().mean(0) + 1e-8).sqrt()
    y = y.mean([1, 2, 3]).reshape(1, m, 1, 1, 1).expand(g, m, 1, h, w).reshape(n, 1, h, w)
    return torch.cat([x, y], 1)


def forward(cfg, weights, uv, x):
    sn = cfg.get("spectral_norm", False)
    h = x.permute(0, 3, 1, 2)
    specs = layers(cfg)
    for j, (name, out, cin, k, stride, pad) in enumerate(specs):
        w = weights[name]
        if sn:
            u, v = uv[name]
            sigma = u @ (w.reshape(out, -1) @ v)
            w = w / sigma
        h = F.conv2d(h, w.permute(0, 3, 1, 2), stride=stride, padding=pad)
        if j < len(specs) - 1:
            h = F.leaky_relu(h, 0.2)
            if j == len(specs) - 2 and cfg.get("mbstd"):
                h = mbstd(h)
    return h.reshape(-1)


def unit(rng, n):
    v = rng.standard_normal(n)
    return v / np.linalg.norm(v)


def write_safetensors(path, tensors, meta):
    header, blobs, off = {}, [], 0
    for name, arr in tensors:
        b = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = meta
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main(path):
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(20261204)
    tensors, meta = [], {"gamma": str(GAMMA), "cases": ",".join(c for c, _ in CASES)}
    x = rng.uniform(-1, 1, (N, SIZE, SIZE, CH))
    tensors.append(("x", x))
    for case, cfg in CASES:
        meta["config." + case] = json.dumps(cfg)
        weights, uv = {}, {}
        for name, out, cin, k, _, _ in layers(cfg):
            # Larger than DCGAN's N(0, 0.02), so that the penalty is far from 0.
            w = rng.normal(0, 0.1, (out, k, k, cin))
            stored = name + "_orig" if cfg.get("spectral_norm") else name
            tensors.append((case + "." + stored, w))
            weights[name] = torch.tensor(w, requires_grad=True)
            if cfg.get("spectral_norm"):
                u, v = unit(rng, out), unit(rng, k * k * cin)
                tensors += [(case + "." + name + "_u", u), (case + "." + name + "_v", v)]
                uv[name] = (torch.tensor(u), torch.tensor(v))
        xt = torch.tensor(x, requires_grad=True)
        logits = forward(cfg, weights, uv, xt)
        (g,) = torch.autograd.grad(logits.sum(), xt, create_graph=True)
        r1 = GAMMA / 2 * g.square().sum() / N
        r1.backward()
        meta["penalty." + case] = repr(float(g.square().sum() / N))
        for name, *_ in layers(cfg):
            stored = name + "_orig" if cfg.get("spectral_norm") else name
            tensors.append((case + ".grad." + stored, weights[name].grad.numpy()))
    write_safetensors(path, tensors, meta)
    print("wrote %s (torch %s)" % (path, torch.__version__))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: r1-reference.py OUT.safetensors")
    main(sys.argv[1])
