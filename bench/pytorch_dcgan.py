#!/usr/bin/env python3
"""PyTorch reference side of forger's speed comparison.

The networks, initialisation, loss and optimiser follow pytorch/examples
(dcgan/main.py) exactly:

  G (64x64): ConvT(nz->ngf*8, 4,1,0) BN ReLU
             ConvT(ngf*8->ngf*4, 4,2,1) BN ReLU
             ConvT(ngf*4->ngf*2, 4,2,1) BN ReLU
             ConvT(ngf*2->ngf,   4,2,1) BN ReLU
             ConvT(ngf->nc,      4,2,1) Tanh
  D (64x64): Conv(nc->ndf, 4,2,1) LeakyReLU(0.2)
             Conv(ndf->ndf*2, 4,2,1) BN LReLU
             Conv(ndf*2->ndf*4, 4,2,1) BN LReLU
             Conv(ndf*4->ndf*8, 4,2,1) BN LReLU
             Conv(ndf*8->1, 4,1,0) Sigmoid
  For 32x32 one layer fewer on each side (G starts at ngf*4, D ends at ndf*4).

  All convolutions bias=False; weights N(0, 0.02), BN weight N(1, 0.02), BN bias 0.
  Loss: nn.Sigmoid + nn.BCELoss, as in the example (not BCEWithLogits).
  Optimiser: Adam lr 2e-4, betas (0.5, 0.999) for both nets.

One training step is exactly the example's loop body: D on a real batch
(label 1), D on G(z).detach() (label 0), optimizerD.step(); then G through D
with label 1, optimizerG.step().  The "real" data is a fixed random batch in
[-1, 1] made once up front (no data loading is timed); the noise z is drawn
fresh each step as in the example.

Generate: G only, eval mode, under torch.no_grad(), fresh z each step.

Threads: torch.set_num_threads(--threads, default 2).  Debian's torch calls
the system BLAS (OpenBLAS, pthread build) for its GEMMs, and OpenBLAS keeps
its own thread pool (one thread per core unless told otherwise), apart from
torch's.  2 torch threads + 2 OpenBLAS threads oversubscribe a 2-core machine
and run training 2-4x slower, so OPENBLAS_NUM_THREADS defaults to 1 here
(--blas-threads N, or an OPENBLAS_NUM_THREADS already set, overrides).  On 2
cores, --threads 2 --blas-threads 1 is fastest for training and
--threads 1 --blas-threads 2 for generation; bench/compare.sh tries both.

Usage (mirrors `forger bench`):
  /usr/bin/python3 bench/pytorch_dcgan.py train|generate --size 64 --channels 3 \
      --batch 64 --steps N [--warmup 2] [--ngf 64 --ndf 64] \
      [--threads 2] [--blas-threads 1] --json
"""

import argparse
import json
import os
import resource
import sys
import time

DEFAULT_BLAS_THREADS = 1


def _blas_threads_from_argv(argv):
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--blas-threads", type=int, default=None)
    return pre.parse_known_args(argv)[0].blas_threads


if __name__ == "__main__":
    # OpenBLAS reads its thread count once, when torch loads it: set it first.
    # Debian's torch does its GEMMs in the system libblas (OpenBLAS, pthread
    # build), whose threads are separate from torch.set_num_threads; left at
    # its default (one per core) under 2 torch threads it oversubscribes the
    # 2 cores and training runs 2-4x slower.  --blas-threads overrides; else
    # an OPENBLAS_NUM_THREADS already in the environment is kept; else 1.
    _bt = _blas_threads_from_argv(sys.argv[1:])
    if _bt is not None:
        os.environ["OPENBLAS_NUM_THREADS"] = str(_bt)
    else:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", str(DEFAULT_BLAS_THREADS))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.optim as optim  # noqa: E402

NZ = 100


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)


def _n_layers(size):
    # number of stride-2 up/down-sampling layers between 4x4 and size x size
    if size == 64:
        return 4
    if size == 32:
        return 3
    raise SystemExit("pytorch_dcgan.py: --size must be 32 or 64, got %d" % size)


class Generator(nn.Module):
    def __init__(self, size, nc, ngf, nz=NZ):
        super().__init__()
        n = _n_layers(size)
        mult = 2 ** (n - 1)  # 8 for 64x64, 4 for 32x32
        layers = [
            # input is Z, going into a convolution -> (ngf*mult) x 4 x 4
            nn.ConvTranspose2d(nz, ngf * mult, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * mult),
            nn.ReLU(True),
        ]
        while mult > 1:
            layers += [
                nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * mult // 2),
                nn.ReLU(True),
            ]
            mult //= 2
        layers += [
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        ]
        self.main = nn.Sequential(*layers)

    def forward(self, z):
        return self.main(z)


class Discriminator(nn.Module):
    def __init__(self, size, nc, ndf):
        super().__init__()
        n = _n_layers(size)
        layers = [
            # input is nc x size x size
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        mult = 1
        for _ in range(n - 1):
            layers += [
                nn.Conv2d(ndf * mult, ndf * mult * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * mult * 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            mult *= 2
        layers += [
            # (ndf*mult) x 4 x 4 -> 1 x 1 x 1
            nn.Conv2d(ndf * mult, 1, 4, 1, 0, bias=False),
            nn.Sigmoid(),
        ]
        self.main = nn.Sequential(*layers)

    def forward(self, x):
        return self.main(x).view(-1, 1).squeeze(1)


def _loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _blas_lib():
    # which BLAS shared object torch actually loaded (Debian: via libblas.so.3)
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if ".so" in line}
    except OSError:
        return None
    for key in ("openblas", "mkl_rt", "libmkl", "blis", "libblas"):
        for path in sorted(libs):
            if key in os.path.basename(path) or key in path:
                return os.path.realpath(path)
    return None


def parse_args(argv):
    p = argparse.ArgumentParser(description="PyTorch DCGAN benchmark (pytorch/examples layout)")
    p.add_argument("mode", choices=["train", "generate"])
    p.add_argument("--size", type=int, default=64, help="image size: 32 or 64")
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20, help="timed steps")
    p.add_argument("--warmup", type=int, default=2, help="untimed warm-up steps")
    p.add_argument("--ngf", type=int, default=64)
    p.add_argument("--ndf", type=int, default=64)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    p.add_argument("--blas-threads", type=int, default=None,
                   help="OPENBLAS_NUM_THREADS for the system BLAS torch calls "
                        "(default: $OPENBLAS_NUM_THREADS, else %d)" % DEFAULT_BLAS_THREADS)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    a = p.parse_args(argv)
    if a.steps < 1 or a.batch < 1 or a.warmup < 0 or a.channels < 1 or a.threads < 1:
        p.error("--steps/--batch/--channels/--threads must be >= 1 and --warmup >= 0")
    if a.blas_threads is not None and a.blas_threads < 1:
        p.error("--blas-threads must be >= 1")
    _n_layers(a.size)
    return a


def main(argv):
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    netG = Generator(a.size, a.channels, a.ngf)
    netG.apply(weights_init)
    batch = a.batch

    if a.mode == "train":
        netD = Discriminator(a.size, a.channels, a.ndf)
        netD.apply(weights_init)
        criterion = nn.BCELoss()
        optimizerD = optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
        optimizerG = optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
        real_label, fake_label = 1.0, 0.0
        real = torch.rand(batch, a.channels, a.size, a.size) * 2 - 1
        label = torch.empty(batch)
        netG.train()
        netD.train()

        def step():
            # (1) Update D: maximize log(D(x)) + log(1 - D(G(z)))
            netD.zero_grad()
            label.fill_(real_label)
            output = netD(real)
            errD_real = criterion(output, label)
            errD_real.backward()
            noise = torch.randn(batch, NZ, 1, 1)
            fake = netG(noise)
            label.fill_(fake_label)
            output = netD(fake.detach())
            errD_fake = criterion(output, label)
            errD_fake.backward()
            optimizerD.step()
            # (2) Update G: maximize log(D(G(z)))
            netG.zero_grad()
            label.fill_(real_label)
            output = netD(fake)
            errG = criterion(output, label)
            errG.backward()
            optimizerG.step()
            return errD_real.item() + errD_fake.item(), errG.item()
    else:
        netG.eval()

        def step():
            with torch.no_grad():
                noise = torch.randn(batch, NZ, 1, 1)
                fake = netG(noise)
            return fake.shape

    # shape sanity check (also counts as warm-up work, untimed)
    with torch.no_grad():
        probe = netG(torch.randn(2, NZ, 1, 1))
    assert tuple(probe.shape) == (2, a.channels, a.size, a.size), probe.shape
    if a.mode == "train":
        assert tuple(netD(probe).shape) == (2,)

    for _ in range(a.warmup):
        step()
    last = None
    c0 = time.process_time()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        last = step()
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out = {
        "framework": "pytorch",
        "torch_version": torch.__version__,
        "mode": a.mode,
        "size": a.size,
        "channels": a.channels,
        "batch": batch,
        "steps": a.steps,
        "images_per_sec": batch * a.steps / elapsed,
        "seconds_per_step": elapsed / a.steps,
        "peak_rss_bytes": peak,
        # extras (not part of the shared contract)
        "warmup": a.warmup,
        "ngf": a.ngf,
        "ndf": a.ndf,
        "threads": torch.get_num_threads(),
        "blas_threads": int(os.environ["OPENBLAS_NUM_THREADS"])
        if os.environ.get("OPENBLAS_NUM_THREADS", "").isdigit() else None,
        "blas_lib": _blas_lib(),
        "loss": "sigmoid+bce" if a.mode == "train" else None,
        "seconds": elapsed,
        # user+sys CPU of all threads over the timed steps; wall/CPU shows
        # how much of the 2 cores the run actually got (contention check)
        "cpu_seconds_per_step": cpu / a.steps,
        "load_avg_1m": _loadavg(),
    }
    if a.mode == "train":
        out["last_loss_d"], out["last_loss_g"] = last
    if a.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print("%-18s %s" % (k, v))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
