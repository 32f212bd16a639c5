#!/usr/bin/env python3
"""PyTorch reference side of forger's face quality comparison
(bench/compare-quality-faces.sh): pytorch/examples' DCGAN, unconditional,
64x64 RGB, trained on a folder of images for a fixed number of minutes,
then sampled into flat PNG files that `forger eval --images` scores with
the same face judge as forger's own models.

The networks, initialisation, loss, optimiser and training step are
pytorch/examples' dcgan/main.py (nz 100, ngf = ndf = 64, nc 3):

  G: ConvT(nz->ngf*8, 4,1,0) BN ReLU          ->  4x4
     ConvT(ngf*8->ngf*4, 4,2,1) BN ReLU       ->  8x8
     ConvT(ngf*4->ngf*2, 4,2,1) BN ReLU       -> 16x16
     ConvT(ngf*2->ngf, 4,2,1) BN ReLU         -> 32x32
     ConvT(ngf->3, 4,2,1) Tanh                -> 64x64
  D: Conv(3->ndf, 4,2,1) LeakyReLU(0.2)       -> 32x32
     Conv(ndf->ndf*2, 4,2,1) BN LReLU         -> 16x16
     Conv(ndf*2->ndf*4, 4,2,1) BN LReLU       ->  8x8
     Conv(ndf*4->ndf*8, 4,2,1) BN LReLU       ->  4x4
     Conv(ndf*8->1, 4,1,0) Sigmoid            ->  1

  Convolutions bias=False; weights_init as there (conv weights N(0, 0.02),
  BN weight N(1, 0.02), BN bias 0). nn.BCELoss on the sigmoid output;
  Adam lr 2e-4, betas (0.5, 0.999) for both nets; batch 64. One step is the
  example's loop body: D on the real batch (label 1), D on G(z).detach()
  (label 0), optimizerD.step(); then G through D with the same fake batch
  (label 1), optimizerG.step(). As the example's DataLoader (shuffle=True,
  no drop_last), each epoch visits every image once in a fresh random
  order and its last batch is the remainder (32 images for 20,000).

Data: every *.png / *.jpg / *.jpeg directly in --data, in sorted order,
loaded once into one float tensor in [-1, 1] (x / 127.5 - 1, as forger).
Decoded with PIL (Debian's python3-pil) when it is installed; otherwise
PNGs are decoded with numpy + zlib (8-bit, non-interlaced, all the same
size and colour type; the rendered cartoon faces are). Images must already
be --size pixels (forger data get cartoon-faces --size 64 renders them so);
with PIL, others are resized and centre-cropped as the example's transforms.

Threads: PyTorch's best split on this 2-core machine for training, as
bench/compare.sh measured it: torch.set_num_threads(2) with OpenBLAS (which
Debian's torch calls for its GEMMs, with a thread pool of its own) at 1
thread; 2:2 oversubscribes the cores and trains 2-4x slower. --threads
defaults to $OMP_NUM_THREADS when set, else 2; --blas-threads to
$OPENBLAS_NUM_THREADS when set, else 1; --interop-threads to 1 (the example
runs no inter-op parallel work). OMP_WAIT_POLICY defaults to PASSIVE:
with the default (spinning) policy, 2 torch threads at load average 8-10
took 13.7 s a step against 4.5 s with PASSIVE (bench/pytorch_dcgan.py
train, 64x64), as spinning threads eat the time slices the working ones
need. On a quiet machine PASSIVE costs only the wake-ups of sleeping
threads (not measured here: the machine was busy); set
OMP_WAIT_POLICY=ACTIVE to compare. Every OMP_* variable already in the
environment is kept and recorded in the summary.

After --minutes (checked between steps), G in eval mode (batch norm with
its running statistics) writes -n samples, sample i from its own noise, to
OUT/<i>.png (%05d; flat, no class folders), a grid of 64 samples (8x8),
the losses as JSON lines (--log) and, when matplotlib is installed, a plot
of them (--plot). A JSON summary goes to stdout with --json (the keys of
bench/pytorch_cdcgan.py: torch_version, threads, minutes, seconds, steps,
kimg, and more).

Usage:
  /usr/bin/python3 bench/pytorch_dcgan_faces.py --data ~/.forger/data/cartoon-faces-64/images \\
      --minutes 30 --out runs/quality-faces-pytorch/samples -n 5000 \\
      --grid runs/quality-faces-pytorch/grid.png --log runs/quality-faces-pytorch/metrics.jsonl --json
"""

import argparse
import os
import sys


def _pre_args(argv):
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--blas-threads", type=int, default=None)
    return pre.parse_known_args(argv)[0]


if __name__ == "__main__":
    # OpenBLAS reads its thread count once, when torch loads it: set it
    # before the import. --blas-threads wins, then $OPENBLAS_NUM_THREADS, then 1.
    _bt = _pre_args(sys.argv[1:]).blas_threads
    if _bt is not None:
        os.environ["OPENBLAS_NUM_THREADS"] = str(_bt)
    else:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # libgomp reads it when torch loads: idle OpenMP threads sleep rather
    # than spin, which on a machine shared with other work keeps PyTorch
    # from losing most of its time slices to its own spinning threads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import glob  # noqa: E402
import json  # noqa: E402
import struct  # noqa: E402
import time  # noqa: E402
import zlib  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.optim as optim  # noqa: E402

NZ = 100
NC = 3
EXTENSIONS = (".png", ".jpg", ".jpeg")


def weights_init(m):
    # pytorch/examples/dcgan: custom weights initialization called on netG and netD
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)


class Generator(nn.Module):
    def __init__(self, ngf, nz=NZ, nc=NC):
        super().__init__()
        self.main = nn.Sequential(
            # input is Z, going into a convolution
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            # state size. (ngf*8) x 4 x 4
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            # state size. (ngf*4) x 8 x 8
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            # state size. (ngf*2) x 16 x 16
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            # state size. (ngf) x 32 x 32
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
            # state size. (nc) x 64 x 64
        )

    def forward(self, x):
        return self.main(x)


class Discriminator(nn.Module):
    def __init__(self, ndf, nc=NC):
        super().__init__()
        self.main = nn.Sequential(
            # input is (nc) x 64 x 64
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf) x 32 x 32
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*2) x 16 x 16
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*4) x 8 x 8
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*8) x 4 x 4
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return self.main(x).view(-1, 1).squeeze(1)


# --- images -----------------------------------------------------------------------


def list_images(folder):
    files = sorted(p for p in glob.glob(os.path.join(folder, "*")) if p.lower().endswith(EXTENSIONS))
    if not files:
        raise SystemExit("pytorch_dcgan_faces.py: no *.png/*.jpg images in %s (run: forger data get cartoon-faces --n 20000 --size 64)" % folder)
    return files


def load_pil(files, size):
    from PIL import Image

    out = np.empty((len(files), size, size, 3), np.uint8)
    for i, path in enumerate(files):
        with Image.open(path) as im:
            im = im.convert("RGB")
            if im.size != (size, size):
                # the example's transforms.Resize(size) + CenterCrop(size)
                w, h = im.size
                s = size / min(w, h)
                im = im.resize((max(size, round(w * s)), max(size, round(h * s))), Image.BILINEAR)
                w, h = im.size
                left, top = (w - size) // 2, (h - size) // 2
                im = im.crop((left, top, left + size, top + size))
            out[i] = np.asarray(im)
    return out


def _png_parts(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, ihdr, idat = 8, None, []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    return ihdr, zlib.decompress(b"".join(idat))


def load_zlib(files, size):
    """Decodes PNGs without PIL: all of them at once, so that the per-pixel
    recurrences of PNG's Sub/Average/Paeth filters run as numpy operations
    over every image together (one Python step per pixel position)."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}  # gray, RGB, gray+alpha, RGBA
    first = None
    raws = []
    for path in files:
        if not path.lower().endswith(".png"):
            raise SystemExit("pytorch_dcgan_faces.py: without PIL only PNGs can be read (%s); apt-get install python3-pil" % path)
        ihdr, raw = _png_parts(path)
        w, h, depth, ctype, _, _, interlace = ihdr
        if first is None:
            first = ihdr
            if depth != 8 or interlace != 0 or ctype not in channels:
                raise SystemExit("pytorch_dcgan_faces.py: without PIL only 8-bit non-interlaced gray/RGB(A) PNGs can be read (%s); apt-get install python3-pil" % path)
            if (w, h) != (size, size):
                raise SystemExit("pytorch_dcgan_faces.py: %s is %dx%d, not %dx%d (without PIL images are not resized)" % (path, w, h, size, size))
        elif ihdr != first:
            raise SystemExit("pytorch_dcgan_faces.py: %s differs in size or format from %s (without PIL all PNGs must match)" % (path, files[0]))
        raws.append(raw)
    w, h, _, ctype, _, _, _ = first
    bpp = channels[ctype]
    out = np.empty((len(files), h, w, 3), np.uint8)
    for lo in range(0, len(raws), 4096):  # in chunks: the int16 work arrays stay small
        img = _unfilter(raws[lo:lo + 4096], h, w, bpp, files[lo])
        out[lo:lo + len(img)] = img[..., :3] if bpp > 2 else np.repeat(img[..., :1], 3, axis=3)  # gray: three equal channels
    return out  # alpha dropped (the rendered faces are opaque)


def _unfilter(raws, h, w, bpp, name):
    rows = np.frombuffer(b"".join(raws), np.uint8).reshape(len(raws), h, 1 + w * bpp)
    ftype = rows[:, :, 0]
    if ftype.max() > 4:
        raise SystemExit("pytorch_dcgan_faces.py: bad PNG filter type near %s" % name)
    src = rows[:, :, 1:].reshape(len(raws), h, w, bpp).astype(np.int16)
    img = np.zeros((len(raws), h, w, bpp), np.int16)
    zero = np.zeros((len(raws), bpp), np.int16)
    for y in range(h):
        ft = ftype[:, y][:, None]
        up_row = img[:, y - 1] if y > 0 else np.zeros_like(img[:, 0])
        for x in range(w):
            a = img[:, y, x - 1] if x > 0 else zero
            b = up_row[:, x]
            c = up_row[:, x - 1] if x > 0 else zero
            p = a + b - c
            pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
            paeth = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
            pred = np.select([ft == 0, ft == 1, ft == 2, ft == 3], [zero, a, b, (a + b) >> 1], paeth)
            img[:, y, x] = (src[:, y, x] + pred) & 0xFF
    return img.astype(np.uint8)


def load_folder(folder, size, decoder):
    files = list_images(folder)
    if decoder == "auto":
        try:
            import PIL  # noqa: F401
            decoder = "pil"
        except ImportError:
            decoder = "zlib"
    pixels = load_pil(files, size) if decoder == "pil" else load_zlib(files, size)
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float().div_(127.5).sub_(1)  # N,3,H,W in [-1,1]
    return x.contiguous(), decoder


def png_rgb(path, pixels):
    """Writes an HxWx3 uint8 array as an 8-bit RGB PNG (no PIL needed)."""
    h, w, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[r].tobytes() for r in range(h))

    def chunk(kind, body):
        c = struct.pack(">I", len(body)) + kind + body
        return c + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def to_uint8(t):
    # N,3,H,W in [-1,1] -> N,H,W,3 uint8, rounded and clipped as forger's picture.FromTensor.
    return ((t.clamp(-1, 1) + 1) * 127.5 + 0.5).floor().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def plot_losses(path, rows, log_every):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    if not rows:
        return False
    k = [r["kimg"] for r in rows]
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    for key, label in (("loss_d", "loss D"), ("loss_g", "loss G"), ("d_real", "D(x)"), ("d_fake", "D(G(z))")):
        ax.plot(k, [r[key] for r in rows], label=label, linewidth=1, marker="." if len(rows) < 20 else None)
    ax.set_xlabel("thousands of real images seen")
    ax.set_title("PyTorch DCGAN (pytorch/examples/dcgan): losses, mean per %d steps" % log_every)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def _loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def parse_args(argv):
    p = argparse.ArgumentParser(description="pytorch/examples' DCGAN on a folder of 64x64 images for N minutes, then PNG samples")
    p.add_argument("--data", default=os.path.expanduser("~/.forger/data/cartoon-faces-64/images"),
                   help="folder of images (*.png, *.jpg), e.g. forger data get cartoon-faces's images/")
    p.add_argument("--size", type=int, default=64, help="image size (the example's network is 64x64)")
    p.add_argument("--minutes", type=float, default=30, help="training time (checked between steps)")
    p.add_argument("--out", required=True, help="sample folder: OUT/<i>.png")
    p.add_argument("-n", type=int, default=5000, help="samples to write")
    p.add_argument("--grid", help="also write a grid PNG of 64 samples (8x8)")
    p.add_argument("--log", help="write losses as JSON lines to this file")
    p.add_argument("--plot", help="plot the losses into this PNG (needs matplotlib; skipped without)")
    p.add_argument("--log-every", type=int, default=50, help="steps between log lines")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--ngf", type=int, default=64)
    p.add_argument("--ndf", type=int, default=64)
    omp = os.environ.get("OMP_NUM_THREADS", "")
    p.add_argument("--threads", type=int, default=int(omp) if omp.isdigit() and int(omp) > 0 else 2,
                   help="torch.set_num_threads (default $OMP_NUM_THREADS, else 2)")
    p.add_argument("--interop-threads", type=int, default=1, help="torch.set_num_interop_threads (default 1)")
    p.add_argument("--blas-threads", type=int, default=None,
                   help="OPENBLAS_NUM_THREADS (default $OPENBLAS_NUM_THREADS, else 1)")
    p.add_argument("--decoder", choices=["auto", "pil", "zlib"], default="auto",
                   help="image decoding: PIL when installed (auto), or numpy + zlib (PNGs only)")
    p.add_argument("--limit", type=int, default=0, help="use only the first N images (0 = all)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    a = p.parse_args(argv)
    if a.minutes <= 0 or a.n < 1 or a.batch < 2 or a.threads < 1 or a.interop_threads < 1 or a.limit < 0:
        p.error("--minutes must be positive, -n and --threads >= 1, --batch >= 2, --limit >= 0")
    if a.size != 64:
        p.error("--size must be 64 (pytorch/examples' DCGAN)")
    if a.blas_threads is not None and a.blas_threads < 1:
        p.error("--blas-threads must be >= 1")
    return a


def log_progress(msg):
    print("pytorch_dcgan_faces.py: " + msg, file=sys.stderr, flush=True)


def main(argv):
    a = parse_args(argv)
    torch.set_num_interop_threads(a.interop_threads)  # before any parallel work
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    t0 = time.time()
    x, decoder = load_folder(a.data, a.size, a.decoder)
    if a.limit:
        x = x[:a.limit]
    n_images = len(x)
    if n_images < a.batch:
        raise SystemExit("pytorch_dcgan_faces.py: %d images, fewer than a batch of %d" % (n_images, a.batch))
    log_progress("%d images %dx%d from %s in %.1f s (%s); training for %g minutes, %d torch threads, %d inter-op, OpenBLAS %s"
                 % (n_images, a.size, a.size, a.data, time.time() - t0, decoder, a.minutes, torch.get_num_threads(),
                    torch.get_num_interop_threads(), os.environ.get("OPENBLAS_NUM_THREADS")))

    netG, netD = Generator(a.ngf), Discriminator(a.ndf)
    netG.apply(weights_init)
    netD.apply(weights_init)
    criterion = nn.BCELoss()
    real_label, fake_label = 1.0, 0.0
    optimizerD = optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    for path in (a.log, a.grid, a.plot):
        if path and os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
    log = open(a.log, "w") if a.log else None
    rows = []

    load_start = _loadavg()
    start = time.time()
    deadline = start + a.minutes * 60
    steps = epochs = images = 0
    win = [0.0, 0.0, 0.0, 0.0, 0]  # loss_d, loss_g, d_real, d_fake, count
    done = False
    while not done:
        perm = torch.randperm(n_images)
        for lo in range(0, n_images, a.batch):
            if time.time() >= deadline:
                done = True
                break
            idx = perm[lo:lo + a.batch]
            if len(idx) < 2:  # batch norm needs two; the example's last batch never has one with 20,000 images
                continue
            real_cpu = x[idx]
            batch_size = real_cpu.size(0)
            ############################
            # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
            ###########################
            # train with real
            netD.zero_grad()
            label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype)
            output = netD(real_cpu)
            errD_real = criterion(output, label)
            errD_real.backward()
            D_x = output.mean().item()
            # train with fake
            noise = torch.randn(batch_size, NZ, 1, 1)
            fake = netG(noise)
            label.fill_(fake_label)
            output = netD(fake.detach())
            errD_fake = criterion(output, label)
            errD_fake.backward()
            D_G_z1 = output.mean().item()
            errD = errD_real + errD_fake
            optimizerD.step()
            ############################
            # (2) Update G network: maximize log(D(G(z)))
            ###########################
            netG.zero_grad()
            label.fill_(real_label)  # fake labels are real for generator cost
            output = netD(fake)
            errG = criterion(output, label)
            errG.backward()
            optimizerG.step()

            steps += 1
            images += batch_size
            win[0] += errD.item()
            win[1] += errG.item()
            win[2] += D_x
            win[3] += D_G_z1
            win[4] += 1
            if steps % a.log_every == 0:
                c = win[4]
                row = {"step": steps, "epoch": epochs + (lo + batch_size) / n_images, "kimg": images / 1000,
                       "loss_d": win[0] / c, "loss_g": win[1] / c, "d_real": win[2] / c, "d_fake": win[3] / c,
                       "seconds": time.time() - start, "load": _loadavg()}
                rows.append(row)
                if log:
                    log.write(json.dumps(row) + "\n")
                    log.flush()
                win = [0.0, 0.0, 0.0, 0.0, 0]
        else:
            epochs += 1
    seconds = time.time() - start
    load_end = _loadavg()
    if win[4]:  # the steps since the last log line
        c = win[4]
        row = {"step": steps, "epoch": epochs + (lo if done else 0) / n_images, "kimg": images / 1000,
               "loss_d": win[0] / c, "loss_g": win[1] / c, "d_real": win[2] / c, "d_fake": win[3] / c,
               "seconds": seconds, "load": load_end}
        rows.append(row)
        if log:
            log.write(json.dumps(row) + "\n")
    if log:
        log.close()
    log_progress("trained %d steps (%d images, %.2f epochs) in %.0f s: %.1f images/s" % (steps, images, images / n_images, seconds, images / seconds))

    # Samples: G in eval mode (batch norm's running statistics), sample i from its own noise.
    netG.eval()
    os.makedirs(a.out, exist_ok=True)
    gen = torch.Generator().manual_seed(a.seed + 1000)
    with torch.no_grad():
        for lo in range(0, a.n, 250):
            hi = min(a.n, lo + 250)
            imgs = to_uint8(netG(torch.randn(hi - lo, NZ, 1, 1, generator=gen)))
            for k in range(hi - lo):
                png_rgb(os.path.join(a.out, "%05d.png" % (lo + k)), imgs[k])
        if a.grid:
            cols, pad = 8, 2
            z = torch.randn(cols * cols, NZ, 1, 1, generator=torch.Generator().manual_seed(a.seed + 2000))
            imgs = to_uint8(netG(z))
            side = a.size
            grid = np.full((cols * (side + pad) + pad, cols * (side + pad) + pad, 3), 255, np.uint8)
            for i in range(cols * cols):
                top, left = pad + (i // cols) * (side + pad), pad + (i % cols) * (side + pad)
                grid[top:top + side, left:left + side] = imgs[i]
            png_rgb(a.grid, grid)
    plotted = bool(a.plot) and plot_losses(a.plot, rows, a.log_every)

    loads = [r["load"] for r in rows if r.get("load") is not None]
    summary = {"generator": "pytorch-dcgan", "torch_version": torch.__version__, "threads": torch.get_num_threads(),
               "interop_threads": torch.get_num_interop_threads(),
               "blas_threads": int(os.environ["OPENBLAS_NUM_THREADS"]) if os.environ.get("OPENBLAS_NUM_THREADS", "").isdigit() else None,
               "omp": {k: v for k, v in sorted(os.environ.items()) if k.startswith(("OMP_", "GOMP_", "KMP_"))},
               "minutes": a.minutes, "seconds": seconds, "steps": steps, "epochs": images / n_images,
               "kimg": images / 1000, "images": images, "images_per_sec": images / seconds if seconds > 0 else None,
               "data": a.data, "data_images": n_images, "decoder": decoder, "batch": a.batch, "ngf": a.ngf, "ndf": a.ndf,
               "samples": a.out, "n": a.n, "grid": a.grid, "plot": a.plot if plotted else None,
               "load_start": load_start, "load_end": load_end,
               "load_mean": sum(loads) / len(loads) if loads else None, "load_max": max(loads) if loads else None}
    if a.json:
        print(json.dumps(summary))
    else:
        print("trained %d steps (%.2f epochs, %.0f s); %d samples in %s" % (steps, images / n_images, seconds, a.n, a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
