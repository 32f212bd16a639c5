#!/usr/bin/env python3
"""Makes stylegan/testdata/stylegan-torch.safetensors: a small StyleGAN2
generator and discriminator written here in plain PyTorch (float64, autograd)
after the semantics of NVlabs' stylegan2-ada-pytorch training/networks.py,
with their outputs and gradients, for forger's TestMatchesPyTorch.

The networks are stylegan.Config below: 32x32x3 images, z and w of 16, three
mapping layers (lr x0.01), widths min(128/res, 16). Everything is built from
the definitions, independently of how forger computes it:

  - upfirdn2d by definition: zero insertion, padding, 2-D correlation with
    the [1,3,3,1] outer product, decimation;
  - conv2d_resample's reference path: for upsampling, upfirdn2d(up=2,
    pad 3/2, gain 4) then a convolution with the flipped kernel
    (flip_weight=False, as SynthesisLayer's up layers); for downsampling a
    padded convolution followed by upfirdn2d(down=2);
  - modulated convolution as the fused grouped convolution (one weight per
    sample), where forger runs the non-fused path;
  - noise in "const" mode (noise_const * noise_strength), strengths and
    biases drawn non-zero so that their gradients are tested.

Cases (loss = sum(output * r) for a fixed random r):
  g:   z, z2 -> mapping -> style mixing at layer CROSSOVER -> synthesis;
       images, gradients of z, z2 and every parameter, and w_avg after
       the training update (beta 0.995).
  ws:  a random W+ tensor -> synthesis; images and the gradient of W+.
  d:   images -> residual discriminator with minibatch stddev; logits,
       gradients of the images and every parameter.
  pl:  case g's generator and inputs, StyleGAN2's path-length penalty
       (weight 2, decay 0.01, running mean 0.5 before) by double backward
       (autograd.grad with create_graph=True): the gradient of every
       parameter, the penalty and the means.

CONTIGUOUS: every convolution weight is made contiguous after the permute
from forger's layout. With a permuted (channels-last strided) weight, the
grouped conv2d of Debian's torch 1.13 returns wrong weight gradients on the
CPU (autograd disagreed with its own finite differences), though its forward
is right.

Tensors are stored under forger's names in forger's layouts: convolution
weights [out, kh, kw, in], the 4x4 constant [4, 4, C], images NHWC, and the
discriminator's fully connected layer reading its input in NHWC order.

  /usr/bin/python3 scripts/stylegan-reference.py stylegan/testdata/stylegan-torch.safetensors

Needs Debian's python3-torch and python3-numpy.
"""

import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

CFG = {
    "Size": 32, "Channels": 3, "ZDim": 16, "WDim": 16, "MappingLayers": 3,
    "MappingLRMul": 0.01, "WAvgBeta": 0.995, "ChannelBase": 128, "ChannelMax": 16,
    "MbstdGroup": 4,
}
NG, ND, CROSSOVER = 3, 4, 3
PL_WEIGHT, PL_DECAY = 2.0, 0.01
FIR = [1.0, 3.0, 3.0, 1.0]


def width(res):
    return min(CFG["ChannelBase"] // res, CFG["ChannelMax"])


def num_ws():
    return 2 * int(math.log2(CFG["Size"])) - 2


def upfirdn2d(x, up=1, down=1, pad=(0, 0), gain=1.0):
    """upfirdn2d with the [1,3,3,1] filter (sum 1, times gain), NCHW."""
    n, c, h, w = x.shape
    if up > 1:
        u = x.new_zeros(n, c, h * up, w * up)
        u[:, :, ::up, ::up] = x
        x = u
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    f = torch.tensor(FIR, dtype=x.dtype)
    f = torch.outer(f, f)
    f = f / f.sum() * gain
    x = F.conv2d(x, f.flip([0, 1]).expand(c, 1, 4, 4), groups=c)
    return x[:, :, ::down, ::down]


def lrelu(x, gain=math.sqrt(2)):
    return F.leaky_relu(x, 0.2) * gain


def fc(x, p, name, lr=1.0, act=False):
    w = p[name + ".weight"] * (lr / math.sqrt(p[name + ".weight"].shape[1]))
    x = x @ w.t() + p[name + ".bias"] * lr
    return lrelu(x) if act else x


def modconv(x, w, p, name, up=False, demod=True):
    """Fused (grouped) modulated convolution; weight stored [O, k, k, I]."""
    weight = p[name + ".weight"].permute(0, 3, 1, 2).contiguous()  # OIkk (see CONTIGUOUS)
    o, i, k, _ = weight.shape
    styles = fc(w, p, name + ".affine")
    if not demod:
        styles = styles / math.sqrt(i * k * k)
    n = x.shape[0]
    ww = weight.unsqueeze(0) * styles.reshape(n, 1, -1, 1, 1)
    if demod:
        d = (ww.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()
        ww = ww * d.reshape(n, -1, 1, 1, 1)
    x = x.reshape(1, -1, *x.shape[2:])
    ww = ww.reshape(-1, i, k, k).contiguous()
    if up:
        # conv2d_resample's reference path, padding 1: upfirdn2d with
        # padding 1 + (4+2-1)//2 = 3 before, 1 + (4-2)//2 = 2 after, gain
        # 4, then the convolution with the flipped kernel.
        x = upfirdn2d(x, up=2, pad=(3, 2), gain=4.0)
        x = F.conv2d(x, ww.flip([2, 3]), groups=n)
    else:
        x = F.conv2d(x, ww, padding=k // 2, groups=n)
    return x.reshape(n, -1, *x.shape[2:])


def synth_layer(x, w, p, name, up=False):
    x = modconv(x, w, p, name, up=up)
    x = x + p[name + ".noise_const"] * p[name + ".noise_strength"][0]
    return lrelu(x + p[name + ".bias"].reshape(1, -1, 1, 1))


def torgb(x, w, p, name):
    return modconv(x, w, p, name, demod=False) + p[name + ".bias"].reshape(1, -1, 1, 1)


def normalize_2nd_moment(z):
    return z * (z.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()


def mapping(z, p):
    x = normalize_2nd_moment(z)
    for i in range(CFG["MappingLayers"]):
        x = fc(x, p, "mapping.fc%d" % i, lr=CFG["MappingLRMul"], act=True)
    return x


def synthesis(ws, p):
    n = ws.shape[0]
    x = p["synthesis.b4.const"].permute(2, 0, 1).unsqueeze(0).repeat(n, 1, 1, 1)
    img, wi, res = None, 0, 4
    while res <= CFG["Size"]:
        b = "synthesis.b%d" % res
        if res > 4:
            x = synth_layer(x, ws[:, wi], p, b + ".conv0", up=True)
            wi += 1
        x = synth_layer(x, ws[:, wi], p, b + ".conv1")
        wi += 1
        y = torgb(x, ws[:, wi], p, b + ".torgb")
        img = y if img is None else upfirdn2d(img, up=2, pad=(2, 1), gain=4.0) + y
        res *= 2
    return img.permute(0, 2, 3, 1)


def dconv(x, p, name, down=False, act=True, gain=1.0, bias=True):
    weight = p[name + ".weight"].permute(0, 3, 1, 2).contiguous()  # see CONTIGUOUS
    o, i, k, _ = weight.shape
    weight = weight / math.sqrt(i * k * k)
    if down:
        # conv2d_resample's reference path for down=2: pad k//2 + 1 (3x3) or
        # 1 (1x1) on each side, convolve, then upfirdn2d(down=2).
        pad = k // 2 + 1 if k > 1 else 1
        x = F.conv2d(F.pad(x, [pad] * 4), weight)
        x = upfirdn2d(x, down=2)
    else:
        x = F.conv2d(x, weight, padding=k // 2)
    if bias:
        x = x + p[name + ".bias"].reshape(1, -1, 1, 1)
    return lrelu(x, math.sqrt(2) * gain) if act else x * gain


def mbstd(x, group):
    n, c, h, w = x.shape
    g = min(group, n)
    y = x.reshape(g, -1, 1, c, h, w)
    y = y - y.mean(dim=0)
    y = (y.square().mean(dim=0) + 1e-8).sqrt()
    y = y.mean(dim=[2, 3, 4]).reshape(-1, 1, 1, 1).repeat(g, 1, h, w)
    return torch.cat([x, y], dim=1)


def discriminator(img, p):
    x = img.permute(0, 3, 1, 2)
    s = CFG["Size"]
    x = dconv(x, p, "b%d.fromrgb" % s)
    res = s
    half = math.sqrt(0.5)
    while res > 4:
        b = "b%d" % res
        y = dconv(x, p, b + ".skip", down=True, act=False, gain=half, bias=False)
        x = dconv(x, p, b + ".conv0")
        x = dconv(x, p, b + ".conv1", down=True, gain=half)
        x = y + x
        res //= 2
    x = mbstd(x, CFG["MbstdGroup"])
    x = dconv(x, p, "b4.conv")
    x = fc(x.permute(0, 2, 3, 1).flatten(1), p, "b4.fc", act=True)
    return fc(x, p, "b4.out")


def g_params(rng):
    """Forger's names and shapes, values as StyleGAN2 draws them, with
    biases and noise strengths made non-zero."""
    p, bufs = {}, {}
    zd, wd = CFG["ZDim"], CFG["WDim"]
    for i in range(CFG["MappingLayers"]):
        p["mapping.fc%d.weight" % i] = rng.standard_normal((wd, zd if i == 0 else wd)) / CFG["MappingLRMul"]
        p["mapping.fc%d.bias" % i] = rng.normal(0, 10, wd)  # x0.01 at run time
    bufs["mapping.w_avg"] = rng.normal(0, 0.5, wd)
    p["synthesis.b4.const"] = rng.standard_normal((4, 4, width(4)))
    res = 4
    while res <= CFG["Size"]:
        b, out = "synthesis.b%d" % res, width(res)
        convs = [("conv1", out)] if res == 4 else [("conv0", width(res // 2)), ("conv1", out)]
        for name, cin in convs:
            n = b + "." + name
            p[n + ".weight"] = rng.standard_normal((out, 3, 3, cin))
            p[n + ".affine.weight"] = rng.standard_normal((cin, wd))
            p[n + ".affine.bias"] = 1 + rng.normal(0, 0.2, cin)
            p[n + ".noise_strength"] = rng.normal(0, 0.3, 1)
            p[n + ".bias"] = rng.normal(0, 0.2, out)
            bufs[n + ".noise_const"] = rng.standard_normal((res, res))
        n = b + ".torgb"
        p[n + ".weight"] = rng.standard_normal((CFG["Channels"], 1, 1, out))
        p[n + ".affine.weight"] = rng.standard_normal((out, wd))
        p[n + ".affine.bias"] = 1 + rng.normal(0, 0.2, out)
        p[n + ".bias"] = rng.normal(0, 0.2, CFG["Channels"])
        res *= 2
    return p, bufs


def d_params(rng):
    p, s = {}, CFG["Size"]
    p["b%d.fromrgb.weight" % s] = rng.standard_normal((width(s), 1, 1, CFG["Channels"]))
    p["b%d.fromrgb.bias" % s] = rng.normal(0, 0.2, width(s))
    res = s
    while res > 4:
        b, tmp, out = "b%d" % res, width(res), width(res // 2)
        p[b + ".conv0.weight"] = rng.standard_normal((tmp, 3, 3, tmp))
        p[b + ".conv0.bias"] = rng.normal(0, 0.2, tmp)
        p[b + ".conv1.weight"] = rng.standard_normal((out, 3, 3, tmp))
        p[b + ".conv1.bias"] = rng.normal(0, 0.2, out)
        p[b + ".skip.weight"] = rng.standard_normal((out, 1, 1, tmp))
        res //= 2
    c4 = width(4)
    p["b4.conv.weight"] = rng.standard_normal((c4, 3, 3, c4 + 1))
    p["b4.conv.bias"] = rng.normal(0, 0.2, c4)
    p["b4.fc.weight"] = rng.standard_normal((c4, 16 * c4))
    p["b4.fc.bias"] = rng.normal(0, 0.2, c4)
    p["b4.out.weight"] = rng.standard_normal((1, c4))
    p["b4.out.bias"] = rng.normal(0, 0.2, 1)
    return p


def write_safetensors(path, tensors, meta):
    header, blobs, off = {}, [], 0
    for name, arr in tensors:
        b = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(np.shape(arr)), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = meta
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def leaf(a):
    return torch.tensor(np.asarray(a, dtype=np.float32).astype(np.float64), requires_grad=True)


def main(path):
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(20261204)
    out = []
    # Inputs and weights are rounded to float32 first: forger reads them so.
    gp, gb = g_params(rng)
    pt = {k: leaf(v) for k, v in gp.items()}
    pt.update({k: leaf(v) for k, v in gb.items()})
    out += [("g." + k, v) for k, v in gp.items()] + [("g." + k, v) for k, v in gb.items()]

    # Case g: z, z2, mixing.
    z, z2 = leaf(rng.standard_normal((NG, CFG["ZDim"]))), leaf(rng.standard_normal((NG, CFG["ZDim"])))
    ww = mapping(torch.cat([z, z2]), pt)
    w1, w2 = ww[:NG], ww[NG:]
    nw = num_ws()
    ws = torch.cat([w1.unsqueeze(1).repeat(1, CROSSOVER, 1), w2.unsqueeze(1).repeat(1, nw - CROSSOVER, 1)], 1)
    img = synthesis(ws, pt)
    r = rng.standard_normal(tuple(img.shape))
    (img * torch.tensor(r)).sum().backward()
    w_avg = w1.detach().mean(0).lerp(pt["mapping.w_avg"].detach(), CFG["WAvgBeta"])
    out += [("g.z", z.detach().numpy()), ("g.z2", z2.detach().numpy()), ("g.r", r),
            ("g.img", img.detach().numpy()), ("g.grad.z", z.grad.numpy()), ("g.grad.z2", z2.grad.numpy()),
            ("g.w_avg_after", w_avg.numpy())]
    out += [("g.grad." + k, pt[k].grad.numpy()) for k in gp]

    # Case ws: synthesis from W+.
    for v in pt.values():
        v.grad = None
    wsin = leaf(rng.normal(0, 0.7, (NG, nw, CFG["WDim"])))
    img = synthesis(wsin, pt)
    r = rng.standard_normal(tuple(img.shape))
    (img * torch.tensor(r)).sum().backward()
    out += [("ws.ws", wsin.detach().numpy()), ("ws.r", r), ("ws.img", img.detach().numpy()),
            ("ws.grad.ws", wsin.grad.numpy())]

    # Case d.
    dp = d_params(rng)
    dt = {k: leaf(v) for k, v in dp.items()}
    x = leaf(rng.uniform(-1, 1, (ND, CFG["Size"], CFG["Size"], CFG["Channels"])))
    logits = discriminator(x, dt)
    r = rng.standard_normal(tuple(logits.shape))
    (logits * torch.tensor(r)).sum().backward()
    out += [("d." + k, v) for k, v in dp.items()]
    out += [("d.x", x.detach().numpy()), ("d.r", r), ("d.logits", logits.detach().numpy()),
            ("d.grad.x", x.grad.numpy())]
    out += [("d.grad." + k, dt[k].grad.numpy()) for k in dp]

    # Case pl: the path-length penalty's gradient by double backward, on
    # case g's z, z2 and mixing.
    for v in pt.values():
        v.grad = None
    # Fresh leaves: backward would add into z.grad, whose array is in out.
    zp, z2p = leaf(z.detach().numpy()), leaf(z2.detach().numpy())
    ww = mapping(torch.cat([zp, z2p]), pt)
    w1, w2 = ww[:NG], ww[NG:]
    ws = torch.cat([w1.unsqueeze(1).repeat(1, CROSSOVER, 1), w2.unsqueeze(1).repeat(1, nw - CROSSOVER, 1)], 1)
    img = synthesis(ws, pt)
    y = rng.standard_normal(tuple(img.shape)) / math.sqrt(img.shape[1] * img.shape[2])
    y = torch.tensor(y.astype(np.float32).astype(np.float64))
    (gr,) = torch.autograd.grad((img * y).sum(), ws, create_graph=True)
    lengths = gr.square().sum(2).mean(1).sqrt()
    mean_before = 0.5
    mean_after = mean_before + PL_DECAY * (float(lengths.mean()) - mean_before)
    loss = ((lengths - mean_after).square() * PL_WEIGHT).mean()
    loss.backward()
    out += [("pl.y", y.numpy())]
    # Parameters the penalty does not reach (the biases of toRGB) get None.
    out += [("pl.grad." + k, np.zeros(np.shape(gp[k])) if pt[k].grad is None else pt[k].grad.numpy()) for k in gp]
    pl_meta = {"pl.mean_before": repr(mean_before), "pl.mean_after": repr(mean_after),
               "pl.penalty": repr(float(loss)), "pl.mean_length": repr(float(lengths.mean()))}

    meta = {"config": json.dumps(CFG), "crossover": str(CROSSOVER), "torch": torch.__version__}
    meta.update(pl_meta)
    write_safetensors(path, out, meta)
    print("wrote %s (torch %s)" % (path, torch.__version__))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: stylegan-reference.py OUT.safetensors")
    main(sys.argv[1])
