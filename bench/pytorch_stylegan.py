#!/usr/bin/env python3
"""PyTorch side of forger's stylegan speed comparison (bench/compare-stylegan.sh).

The networks are scripts/stylegan-reference.py's StyleGAN2 modules (the ones
TestMatchesPyTorch checks forger against), at forger train --model
stylegan's default shape: z and w of --nz, 8 mapping layers, feature maps
min(8*ngf/res, ngf), the residual discriminator with minibatch stddev.
The modulated convolutions are the reference's grouped (fused) form.

One training step is forger bench train --model stylegan's: G(z) once; D on
a fixed random real batch and on G(z).detach(), non-saturating logistic
loss, Adam 0.0025 betas (0, 0.99), D's step; then G through D (the same
G(z)), G's step. No style mixing, no R1 or path length. float32.

Threads as bench/pytorch_dcgan.py: torch.set_num_threads(--threads) and
OPENBLAS_NUM_THREADS (--blas-threads, default 1).

Prints one JSON line with forger bench's keys.
"""

import argparse
import importlib.util
import json
import os
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--size", type=int, default=32)
ap.add_argument("--batch", type=int, default=16)
ap.add_argument("--nz", type=int, default=256)
ap.add_argument("--ngf", type=int, default=256)
ap.add_argument("--steps", type=int, default=5)
ap.add_argument("--warmup", type=int, default=1)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--blas-threads", type=int, default=1)
a = ap.parse_args()
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(a.blas_threads))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(a.threads)
here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("ref", os.path.join(here, "..", "scripts", "stylegan-reference.py"))
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
ref.CFG.update({"Size": a.size, "Channels": 3, "ZDim": a.nz, "WDim": a.nz, "MappingLayers": 8,
                "ChannelBase": 8 * a.ngf, "ChannelMax": a.ngf, "MbstdGroup": 4})

rng = np.random.default_rng(1)
gp, gb = ref.g_params(rng)
dp = ref.d_params(rng)
leaf = lambda v, g=True: torch.tensor(np.asarray(v, dtype=np.float32), requires_grad=g)  # noqa: E731
G = {k: leaf(v) for k, v in gp.items()}
G.update({k: leaf(v, False) for k, v in gb.items()})
D = {k: leaf(v) for k, v in dp.items()}
opt_g = torch.optim.Adam([G[k] for k in gp], lr=0.0025, betas=(0, 0.99))
opt_d = torch.optim.Adam(list(D.values()), lr=0.0025, betas=(0, 0.99))
real = torch.rand(a.batch, a.size, a.size, 3) * 2 - 1
nw = ref.num_ws()


def step():
    z = torch.randn(a.batch, a.nz)
    w = ref.mapping(z, G)
    fake = ref.synthesis(w.unsqueeze(1).repeat(1, nw, 1), G)
    opt_d.zero_grad(set_to_none=True)
    loss_d = F.softplus(-ref.discriminator(real, D)).mean() + F.softplus(ref.discriminator(fake.detach(), D)).mean()
    loss_d.backward()
    opt_d.step()
    opt_g.zero_grad(set_to_none=True)
    for p in D.values():
        p.requires_grad_(False)
    F.softplus(-ref.discriminator(fake, D)).mean().backward()
    for p in D.values():
        p.requires_grad_(True)
    opt_g.step()


for _ in range(a.warmup):
    step()
t0 = time.perf_counter()
for _ in range(a.steps):
    step()
el = time.perf_counter() - t0
print(json.dumps({"framework": "pytorch", "model": "stylegan", "mode": "train", "size": a.size, "channels": 3,
                  "batch": a.batch, "ngf": a.ngf, "steps": a.steps, "images_per_sec": a.batch * a.steps / el,
                  "seconds_per_step": el / a.steps, "threads": a.threads,
                  "blas_threads": int(os.environ["OPENBLAS_NUM_THREADS"]), "torch": torch.__version__}))
sys.stdout.flush()
