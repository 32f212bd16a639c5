#!/usr/bin/env python3
"""Trains pytorch/examples' DCGAN (or the standard conditional DCGAN of
bench/pytorch_cdcgan.py) for a short time, saves it with torch.save as
pytorch/examples does, and writes the generator's outputs for fixed z, so
that `forger import pytorch` can be checked against PyTorch itself.

The networks and the recipe are pytorch/examples/dcgan's (main.py): G and D
built with nn.Sequential as `main`, weights N(0, 0.02), BN weight N(1, 0.02),
BCE, Adam 2e-4 with beta1 0.5, real label 1, fake 0, one D step (real, then
G(z).detach()) and one G step per batch. The images are random smooth
blobs (or, with --data, the PNGs of a folder such as forger's cartoon-faces
set), in [-1, 1].

Writes to --out:
  netG_epoch_0.pth, netD_epoch_0.pth  torch.save(net.state_dict()), zip format
                                      (as pytorch/examples names them)
  checkpoint.pth                      {"netG": …, "netD": …} (legacy format with --legacy)
  expected.safetensors                z [N, nz] (and labels [N] for cdcgan) and
                                      G(z) in eval mode, NCHW [N, nc, H, W], and
                                      D(G(z)) in eval mode (after its sigmoid) as d_out

The 2-minute run of issue 20 (64x64, ngf = ndf = 64, nz = 100):
  /usr/bin/python3 scripts/interop/pytorch_dcgan_fixture.py --minutes 2 \\
      --data ~/.forger/data/cartoon-faces-64/images --out /tmp/dcgan-2min
  forger import pytorch /tmp/dcgan-2min/netG_epoch_0.pth --d /tmp/dcgan-2min/netD_epoch_0.pth \\
      --arch dcgan --out /tmp/dcgan-2min/imported.safetensors
  go test ./interop/torch -run PyTorchRun -args -run-dir /tmp/dcgan-2min

The tiny fixtures under interop/torch/testdata (a few steps, ngf = ndf = 2):
  /usr/bin/python3 scripts/interop/pytorch_dcgan_fixture.py --steps 3 --ngf 2 --ndf 2 --nz 8 \\
      -n 1 --out interop/torch/testdata/dcgan64
  /usr/bin/python3 scripts/interop/pytorch_dcgan_fixture.py --arch cdcgan --size 28 --nc 1 \\
      --classes 3 --steps 3 --ngf 2 --ndf 2 --nz 8 -n 3 --legacy --out interop/torch/testdata/cdcgan28
"""

import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)


class Generator(nn.Module):
    """pytorch/examples/dcgan's generator (64x64); at 28x28 the standard
    conditional one (7x7 base, two doublings)."""

    def __init__(self, nz, ngf, nc, size, classes):
        super().__init__()
        self.classes = classes
        zin = nz + classes
        if size == 64:
            self.main = nn.Sequential(
                nn.ConvTranspose2d(zin, ngf * 8, 4, 1, 0, bias=False),
                nn.BatchNorm2d(ngf * 8),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * 4),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * 2),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
                nn.Tanh(),
            )
        elif size == 28:
            self.main = nn.Sequential(
                nn.ConvTranspose2d(zin, ngf * 2, 7, 1, 0, bias=False),
                nn.BatchNorm2d(ngf * 2),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
                nn.Tanh(),
            )
        else:
            raise SystemExit("--size 64 or 28")

    def forward(self, z, onehot=None):
        if self.classes:
            z = torch.cat([z.view(z.shape[0], -1), onehot], 1)
        return self.main(z.view(z.shape[0], -1, 1, 1))


class Discriminator(nn.Module):
    def __init__(self, ndf, nc, size, classes):
        super().__init__()
        self.classes = classes
        cin = nc + classes
        if size == 64:
            self.main = nn.Sequential(
                nn.Conv2d(cin, ndf, 4, 2, 1, bias=False),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 2),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 4),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 8),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
                nn.Sigmoid(),
            )
        else:
            self.main = nn.Sequential(
                nn.Conv2d(cin, ndf, 4, 2, 1, bias=False),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 2),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 2, 1, 7, 1, 0, bias=False),
                nn.Sigmoid(),
            )

    def forward(self, x, onehot=None):
        if self.classes:
            maps = onehot.view(-1, self.classes, 1, 1).expand(-1, self.classes, x.shape[2], x.shape[3])
            x = torch.cat([x, maps], 1)
        return self.main(x).view(-1, 1).squeeze(1)


def random_images(n, nc, size, gen):
    """Smooth random images: a few Gaussian blobs of random colours."""
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    out = torch.zeros(n, nc, size, size)
    for _ in range(3):
        cy, cx = torch.rand(2, n, 1, 1, generator=gen) * 2 - 1
        r = torch.rand(n, 1, 1, generator=gen) * 0.5 + 0.2
        blob = torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
        col = torch.rand(n, nc, 1, 1, generator=gen) * 2 - 1
        out += blob.unsqueeze(1) * col
    return out.clamp(-1, 1)


def folder_images(folder, nc, size, limit):
    from PIL import Image

    names = sorted(f for f in os.listdir(folder) if f.lower().endswith((".png", ".jpg", ".jpeg")))[:limit]
    if not names:
        raise SystemExit("no images in " + folder)
    arr = []
    for f in names:
        im = Image.open(os.path.join(folder, f)).convert("RGB" if nc == 3 else "L").resize((size, size))
        a = np.asarray(im, dtype=np.float32) / 127.5 - 1
        arr.append(a.reshape(size, size, nc).transpose(2, 0, 1))
    return torch.from_numpy(np.stack(arr))


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.detach().numpy().astype("<f4"))
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    header["__metadata__"] = {"made_by": "scripts/interop/pytorch_dcgan_fixture.py"}
    js = json.dumps(header, separators=(",", ":")).encode()
    js += b" " * (-len(js) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)) + js + b"".join(blobs))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=["dcgan", "cdcgan"], default="dcgan")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--nc", type=int, default=3)
    ap.add_argument("--nz", type=int, default=100)
    ap.add_argument("--ngf", type=int, default=64)
    ap.add_argument("--ndf", type=int, default=64)
    ap.add_argument("--classes", type=int, default=10, help="cdcgan only")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=0, help="training steps (0: until --minutes)")
    ap.add_argument("--minutes", type=float, default=0)
    ap.add_argument("--data", default="", help="a folder of images (default: random blobs)")
    ap.add_argument("-n", type=int, default=8, help="samples written for the check")
    ap.add_argument("--legacy", action="store_true", help="checkpoint.pth in the legacy (non-zip) format")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if not a.steps and not a.minutes:
        raise SystemExit("give --steps or --minutes")
    torch.manual_seed(a.seed)
    torch.set_num_threads(2)
    classes = a.classes if a.arch == "cdcgan" else 0
    netG = Generator(a.nz, a.ngf, a.nc, a.size, classes)
    netD = Discriminator(a.ndf, a.nc, a.size, classes)
    netG.apply(weights_init)
    netD.apply(weights_init)
    crit = nn.BCELoss()
    optD = optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(a.seed)
    pool = folder_images(a.data, a.nc, a.size, 20000) if a.data else random_images(max(a.batch * 4, 256), a.nc, a.size, gen)
    start, step = time.time(), 0
    while True:
        if a.steps and step >= a.steps:
            break
        if a.minutes and time.time() - start >= a.minutes * 60:
            break
        idx = torch.randint(0, pool.shape[0], (a.batch,), generator=gen)
        real = pool[idx]
        oh = None
        if classes:
            oh = torch.nn.functional.one_hot(torch.randint(0, classes, (a.batch,), generator=gen), classes).float()
        netD.zero_grad()
        errD_real = crit(netD(real, oh), torch.ones(a.batch))
        errD_real.backward()
        z = torch.randn(a.batch, a.nz, 1, 1)
        fake = netG(z, oh)
        errD_fake = crit(netD(fake.detach(), oh), torch.zeros(a.batch))
        errD_fake.backward()
        optD.step()
        netG.zero_grad()
        errG = crit(netD(fake, oh), torch.ones(a.batch))
        errG.backward()
        optG.step()
        step += 1
    print(f"trained {step} steps in {time.time() - start:.1f} s (Loss_D {errD_real.item() + errD_fake.item():.3f}, Loss_G {errG.item():.3f})")

    os.makedirs(a.out, exist_ok=True)
    torch.save(netG.state_dict(), os.path.join(a.out, "netG_epoch_0.pth"))
    torch.save(netD.state_dict(), os.path.join(a.out, "netD_epoch_0.pth"))
    both = {"netG": netG.state_dict(), "netD": netD.state_dict()}
    torch.save(both, os.path.join(a.out, "checkpoint.pth"), _use_new_zipfile_serialization=not a.legacy)
    netG.eval()
    with torch.no_grad():
        z = torch.randn(a.n, a.nz, generator=torch.Generator().manual_seed(1234))
        tensors = {"z": z}
        oh = None
        if classes:
            labels = torch.arange(a.n) % classes
            oh = torch.nn.functional.one_hot(labels, classes).float()
            tensors["labels"] = labels.float()
        tensors["images"] = netG(z.view(a.n, a.nz, 1, 1), oh)
        netD.eval()
        tensors["d_out"] = netD(tensors["images"], oh)
    write_safetensors(os.path.join(a.out, "expected.safetensors"), tensors)
    print("wrote", a.out)


if __name__ == "__main__":
    sys.exit(main())
