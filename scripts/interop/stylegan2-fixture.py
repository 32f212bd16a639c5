#!/usr/bin/env python3
"""Writes interop/torch/testdata/stylegan2: small StyleGAN2 generators with
random weights, built by NVIDIA's own stylegan2-ada-pytorch code and pickled
the way its training loop pickles snapshots (pickle.dump of a dict holding
G, D, G_ema, augment_pipe and training_set_kwargs; networks are
torch_utils.persistence objects), with NVIDIA's images for fixed z, for
forger's TestImportStyleGAN2Matches.

  git clone https://github.com/NVlabs/stylegan2-ada-pytorch /tmp/sg2
  /usr/bin/python3 scripts/interop/stylegan2-fixture.py /tmp/sg2 [OUTDIR]

With --full1024 as a third argument it writes instead, to OUTDIR, one
full-size network of NVIDIA's FFHQ 1024x1024 configuration (z and w of 512,
8 mapping layers, widths min(32768/res, 512), conv_clamp 256, FP16 at the
four highest resolutions; 120 MB, not committed) and its image for one z;
FORGER_STYLEGAN2_EXTRA=OUTDIR go test ./interop/torch -run Matches compares.

Needs Debian's python3-torch (CPU: the custom CUDA ops fall back to their
reference code). Images are rendered with noise_mode='const' and
force_fp32=True (FP16 blocks computed in float32). Biases, noise strengths
and w_avg, zero at initialisation, are drawn at random so that they matter.
The source code each persistent object carries (meta.module_src, ~30 KB a
class) is replaced by a one-line comment to keep the fixtures small: forger
never reads it.

Networks (NAME.pkl with NAME.safetensors: z [N, z_dim], img NCHW for psi 1,
img_psi for psi 0.7, both from G_ema):
  rgb32:  32x32x3, z 32, w 32, 2 mapping layers, widths min(256/res, 32),
          conv_clamp 1 (it clamps: the images differ without it), FP16 at
          the two highest resolutions
  tiny8:  8x8x3, z 16, w 16, 8 mapping layers, widths min(64/res, 16), no clamp
  gray16: 16x16x1, z 8, w 16, 3 mapping layers, widths min(128/res, 16),
          conv_clamp 256
and refusals (pickles only): cond8 (c_dim 3), orig8 (architecture 'orig').
"""
import json
import os
import pickle
import struct
import sys

import numpy as np
import torch

repo = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(os.path.dirname(here)), "interop", "torch", "testdata", "stylegan2")
sys.path.insert(0, repo)
from torch_utils import persistence  # noqa: E402
from training import networks  # noqa: E402

for cls in (networks.Generator, networks.MappingNetwork, networks.SynthesisNetwork, networks.SynthesisBlock,
            networks.SynthesisLayer, networks.ToRGBLayer, networks.FullyConnectedLayer, networks.Conv2dLayer):
    cls._orig_module_src = "# module source left out (scripts/interop/stylegan2-fixture.py)\n"


def write_safetensors(path, tensors, meta):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = meta
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def build(seed, z_dim, w_dim, res, ch, layers, base, cmax, clamp=None, fp16=0, c_dim=0, arch="skip"):
    torch.manual_seed(seed)
    G = networks.Generator(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, img_resolution=res, img_channels=ch,
                           mapping_kwargs=dict(num_layers=layers),
                           synthesis_kwargs=dict(channel_base=base, channel_max=cmax, num_fp16_res=fp16,
                                                 conv_clamp=clamp, architecture=arch))
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("bias") or name.endswith("noise_strength"):
                p.copy_(torch.randn(p.shape) * 0.5)
        G.mapping.w_avg.copy_(torch.randn(w_dim) * 0.3)
    return G.eval().requires_grad_(False)


def snapshot(G):
    # training/training_loop.py's snapshot: G, D, G_ema and augment_pipe
    # deep-copied; here G and G_ema are one network and D is left out.
    return dict(training_set_kwargs=dict(resolution=G.img_resolution, use_labels=False),
                G=G, D=None, G_ema=G, augment_pipe=None)


os.makedirs(out, exist_ok=True)
full = len(sys.argv) > 3 and sys.argv[3] == "--full1024"
if full:
    torch.set_num_threads(1)
nets = {"ffhq1024": build(6, 512, 512, 1024, 3, 8, 32768, 512, clamp=256, fp16=4)} if full else {
    "rgb32": build(1, 32, 32, 32, 3, 2, 256, 32, clamp=1, fp16=2),
    "tiny8": build(2, 16, 16, 8, 3, 8, 64, 16),
    "gray16": build(3, 8, 16, 16, 1, 3, 128, 16, clamp=256),
}
for name, G in nets.items():
    torch.manual_seed(100)
    z = torch.randn(1 if full else 3, G.z_dim)
    img = G(z, None, truncation_psi=1, noise_mode="const", force_fp32=True)
    img_psi = G(z, None, truncation_psi=0.7, noise_mode="const", force_fp32=True)
    with open(os.path.join(out, name + ".pkl"), "wb") as f:
        pickle.dump(snapshot(G), f)
    write_safetensors(os.path.join(out, name + ".safetensors"), {"z": z, "img": img, "img_psi": img_psi},
                      {"torch": torch.__version__})
    print(name, tuple(img.shape), "range %.3f..%.3f" % (img.min(), img.max()), os.path.getsize(os.path.join(out, name + ".pkl")), "bytes")
    if name == "rgb32":
        # The clamp must bite, or the fixture does not test it.
        for m in G.modules():
            if hasattr(m, "conv_clamp"):
                m.conv_clamp = None
        free = G(z, None, noise_mode="const", force_fp32=True)
        print("rgb32 without conv_clamp differs by %.3g" % (free - img).abs().max())
        assert (free - img).abs().max() > 1e-2

for name, G in {} if full else {"cond8": build(4, 8, 8, 8, 3, 2, 64, 8, c_dim=3), "orig8": build(5, 8, 8, 8, 3, 2, 64, 8, arch="orig")}.items():
    with open(os.path.join(out, name + ".pkl"), "wb") as f:
        pickle.dump(snapshot(G), f)
