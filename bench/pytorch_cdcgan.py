#!/usr/bin/env python3
"""PyTorch reference side of forger's quality comparison: the standard
conditional DCGAN on Fashion-MNIST, trained for a fixed number of minutes,
then sampled into PNG class folders that `forger eval --images` scores with
the same judge as forger's own models.

The networks are DCGAN's at 28x28 with the class fed in the standard way
(Mirza & Osindero's conditioning on DCGAN layers):

  G: z (100) concatenated with the one-hot class (10), seen as 110x1x1
       ConvT(110 -> ngf*2, 7,1,0) BN ReLU        ->  7x7
       ConvT(ngf*2 -> ngf, 4,2,1) BN ReLU        -> 14x14
       ConvT(ngf -> 1, 4,2,1) Tanh               -> 28x28
  D: the image concatenated with 10 label maps (one-hot, constant over
     the image), 11x28x28
       Conv(11 -> ndf, 4,2,1) LeakyReLU(0.2)     -> 14x14
       Conv(ndf -> ndf*2, 4,2,1) BN LReLU        ->  7x7
       Conv(ndf*2 -> 1, 7,1,0) Sigmoid           ->  1

  Convolutions bias=False; weights N(0, 0.02), BN weight N(1, 0.02), BN
  bias 0 (pytorch/examples/dcgan). Loss BCE; Adam lr 2e-4, betas (0.5,
  0.999) for both; batch 64; torch.set_num_threads(2). The training step is
  pytorch/examples/dcgan's (D on real, D on G(z).detach(), then G through D
  with the same fake batch), the fake batch's classes drawn uniformly.

Images are Fashion-MNIST in [-1, 1] read from the IDX files (as forger
reads them); no augmentation. After --minutes (checked between steps), G
in eval mode writes -n samples, sample i of class i mod 10 with its own
noise, to OUT/<class>/<i>.png, a grid (one row per class, 10 seeds) and
the losses as JSON lines.

Usage:
  /usr/bin/python3 bench/pytorch_cdcgan.py --data /usr/share/datasets/fashion-mnist \\
      --minutes 30 --out runs/pytorch-cdcgan/samples -n 10000 \\
      --grid runs/pytorch-cdcgan/grid.png --log runs/pytorch-cdcgan/metrics.jsonl --json
"""

import argparse
import gzip
import json
import os
import struct
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

NZ = 100
CLASSES = 10


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)


class Generator(nn.Module):
    def __init__(self, ngf):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(NZ + CLASSES, ngf * 2, 7, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, 1, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z, onehot):
        return self.main(torch.cat([z, onehot], 1).view(-1, NZ + CLASSES, 1, 1))


class Discriminator(nn.Module):
    def __init__(self, ndf):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(1 + CLASSES, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 7, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x, onehot):
        maps = onehot.view(-1, CLASSES, 1, 1).expand(-1, CLASSES, x.shape[2], x.shape[3])
        return self.main(torch.cat([x, maps], 1)).view(-1)


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(folder, stem):
    for name in (stem + ".gz", stem):
        p = os.path.join(folder, name)
        if os.path.exists(p):
            return p
    raise SystemExit("pytorch_cdcgan.py: %s not found in %s (run: forger data get fashion-mnist)" % (stem, folder))


def load_train(folder):
    images = read_idx(find(folder, "train-images-idx3-ubyte"))
    labels = read_idx(find(folder, "train-labels-idx1-ubyte"))
    x = torch.from_numpy(images.astype(np.float32) / 127.5 - 1).unsqueeze(1)  # N,1,28,28 in [-1,1]
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


def png_gray(path, pixels):
    """Writes a 2-D uint8 array as an 8-bit grayscale PNG (no PIL needed)."""
    h, w = pixels.shape
    raw = b"".join(b"\x00" + pixels[r].tobytes() for r in range(h))

    def chunk(kind, body):
        c = struct.pack(">I", len(body)) + kind + body
        return c + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def to_uint8(t):
    # [-1,1] -> [0,255] with rounding and clipping, as forger's picture.FromTensor.
    return ((t.clamp(-1, 1) + 1) * 127.5 + 0.5).floor().clamp(0, 255).to(torch.uint8).numpy()


def onehot(labels):
    return torch.nn.functional.one_hot(labels, CLASSES).float()


def parse_args(argv):
    p = argparse.ArgumentParser(description="conditional DCGAN on Fashion-MNIST for N minutes, then PNG samples per class")
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist", help="folder with the Fashion-MNIST IDX files")
    p.add_argument("--minutes", type=float, default=30, help="training time (checked between steps)")
    p.add_argument("--out", required=True, help="sample folder: OUT/<class>/<i>.png")
    p.add_argument("-n", type=int, default=10000, help="samples to write (class i mod 10)")
    p.add_argument("--grid", help="also write a grid PNG: one row per class, 10 seeds")
    p.add_argument("--log", help="write losses as JSON lines to this file")
    p.add_argument("--log-every", type=int, default=50, help="steps between log lines")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--ngf", type=int, default=64)
    p.add_argument("--ndf", type=int, default=64)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    a = p.parse_args(argv)
    if a.minutes <= 0 or a.n < 1 or a.batch < 2:
        p.error("--minutes must be positive, -n >= 1 and --batch >= 2")
    return a


def main(argv):
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x, y = load_train(a.data)

    netG, netD = Generator(a.ngf), Discriminator(a.ndf)
    netG.apply(weights_init)
    netD.apply(weights_init)
    criterion = nn.BCELoss()
    optD = optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    batch = a.batch
    real_label = torch.ones(batch)
    fake_label = torch.zeros(batch)
    for path in (a.log, a.grid):
        if path and os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
    log = open(a.log, "w") if a.log else None

    start = time.time()
    deadline = start + a.minutes * 60
    steps = epochs = 0
    win = [0.0, 0.0, 0.0, 0.0, 0]  # loss_d, loss_g, d_real, d_fake, count
    done = False
    while not done:
        perm = torch.randperm(len(x))
        for i in range(len(x) // batch):
            if time.time() >= deadline:
                done = True
                break
            idx = perm[i * batch:(i + 1) * batch]
            real, labels = x[idx], onehot(y[idx])
            # (1) D: maximize log D(x|y) + log(1 - D(G(z|y')|y'))
            netD.zero_grad()
            out_real = netD(real, labels)
            err_real = criterion(out_real, real_label)
            err_real.backward()
            fake_classes = onehot(torch.randint(0, CLASSES, (batch,)))
            fake = netG(torch.randn(batch, NZ), fake_classes)
            out_fake = netD(fake.detach(), fake_classes)
            err_fake = criterion(out_fake, fake_label)
            err_fake.backward()
            optD.step()
            # (2) G: maximize log D(G(z|y')|y')
            netG.zero_grad()
            err_g = criterion(netD(fake, fake_classes), real_label)
            err_g.backward()
            optG.step()
            steps += 1
            win[0] += err_real.item() + err_fake.item()
            win[1] += err_g.item()
            win[2] += out_real.mean().item()
            win[3] += out_fake.mean().item()
            win[4] += 1
            if log and steps % a.log_every == 0:
                c = win[4]
                log.write(json.dumps({"step": steps, "kimg": steps * batch / 1000, "loss_d": win[0] / c, "loss_g": win[1] / c,
                                      "d_real": win[2] / c, "d_fake": win[3] / c, "seconds": time.time() - start}) + "\n")
                log.flush()
                win = [0.0, 0.0, 0.0, 0.0, 0]
        else:
            epochs += 1
    seconds = time.time() - start
    if log:
        log.close()

    # Samples: image i of class i mod 10, from its own noise.
    netG.eval()
    gen = torch.Generator().manual_seed(a.seed + 1000)
    for c in range(CLASSES):
        os.makedirs(os.path.join(a.out, str(c)), exist_ok=True)
    with torch.no_grad():
        for lo in range(0, a.n, 500):
            hi = min(a.n, lo + 500)
            labels = torch.arange(lo, hi) % CLASSES
            imgs = to_uint8(netG(torch.randn(hi - lo, NZ, generator=gen), onehot(labels)))
            for k in range(hi - lo):
                png_gray(os.path.join(a.out, str(int(labels[k])), "%05d.png" % (lo + k)), imgs[k, 0])
        if a.grid:
            cols, pad, scale = 10, 2, 2
            z = torch.randn(cols, NZ, generator=torch.Generator().manual_seed(a.seed + 2000))
            side = 28 * scale
            grid = np.full((CLASSES * (side + pad) + pad, cols * (side + pad) + pad), 255, np.uint8)
            for c in range(CLASSES):
                imgs = to_uint8(netG(z, onehot(torch.full((cols,), c, dtype=torch.int64))))
                for j in range(cols):
                    tile = imgs[j, 0].repeat(scale, 0).repeat(scale, 1)
                    top, left = pad + c * (side + pad), pad + j * (side + pad)
                    grid[top:top + side, left:left + side] = tile
            png_gray(a.grid, grid)

    summary = {"generator": "pytorch-cdcgan", "torch_version": torch.__version__, "threads": a.threads,
               "minutes": a.minutes, "seconds": seconds, "steps": steps, "epochs": epochs,
               "kimg": steps * batch / 1000, "samples": a.out, "n": a.n, "grid": a.grid}
    if a.json:
        print(json.dumps(summary))
    else:
        print("trained %d steps (%.1f epochs, %.0f s); %d samples in %s" % (steps, steps * batch / len(x), seconds, a.n, a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
