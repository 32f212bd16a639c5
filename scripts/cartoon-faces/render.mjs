#!/usr/bin/env node
// render.mjs — render random cartoon faces with attribute labels.
//
// Usage: node render.mjs --n N --size S --out DIR [--seed K] [--misalign] [--workers W]
//
// Writes DIR/images/000000.png … (S×S PNG, cropped to the head, plain light
// background) and DIR/attributes.csv, one row per image (file is the name in
// images/), with the header
//
//   file,male,mustache,beard,glasses,smiling,hat,skin_tone
//
// plus rotation_deg,scale,shift_x,shift_y with --misalign. See README.md for
// what the columns mean and how the attribute mix is chosen.
//
// Faces come from facesjs (Apache-2.0), SVG is turned into PNG by
// @resvg/resvg-js (MPL-2.0). The output depends only on --n, --size, --seed
// and --misalign: every face draws its random numbers from its own PRNG,
// seeded from (seed, index), so the number of workers and their scheduling
// do not matter, and the same seed gives the same faces with and without
// --misalign (only the transform differs).
//
// Progress goes to stderr as lines "rendered D/N (R faces/s)"; forger's Go
// side reads them to drive its progress bar. The last line is a summary.

import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

import { Resvg } from "@resvg/resvg-js";
import { faceToSvgString as facesjsFaceToSvgString, generate } from "facesjs";

import { faceToSvgString as cachedFaceToSvgString } from "./svg-string.mjs";

// faceToSvgString is facesjs's, or the faster copy in svg-string.mjs once
// checkFastSvg has shown that the two agree (workers are told the result).
let faceToSvgString = facesjsFaceToSvgString;

// ---------------------------------------------------------------------------
// The crop and the look of the images.

// CROP is the square, in facesjs's 400×600 viewBox, that becomes the image.
// facesjs draws every face at fixed positions: eyes at y=310 (x=140 and
// 260), nose at y=370, mouth at y=440, ears at x≈19…380, the top of a bald
// head at y≈97–101, hair tops mostly at y≈60–98, caps at y=81 (the tip of
// the Santa hat reaches y=10 and is cut), the chin at y≈492–507. The box
// keeps all of that with a margin of ~40 units below the hair and at the
// sides; the eyes land at 57% of the height, the same place on every face.
const CROP = { x: -30, y: 50, side: 460 };

// BACKGROUND is the plain light background behind the face.
const BACKGROUND = "#eeeeee";

// Misalignment ranges (--misalign): uniform in these intervals.
const MISALIGN = { rotation: 20, scaleMin: 0.85, scaleMax: 1.15, shift: 0.1 };

// ---------------------------------------------------------------------------
// The attribute mix. facesjs's own defaults give 10% glasses, never control
// smiles, and half of its beard ids show a mustache although their names do
// not say so; so every labelled feature is chosen here, from id lists that
// were checked by eye, and passed to generate() as overrides.

// Facial hair, in three pools. The mustache label follows the ids' names
// (containing "stache" or "mustache"); ids whose picture contradicts their
// name are left out (see EXCLUDED_FACIAL_HAIR).
const MUSTACHE_ONLY = ["mustache1", "mustache1SB1", "mustache1SB2"];
const BEARD_AND_MUSTACHE = [
  "chin-strapStache", "goatee1-stache", "goatee4-stache", "honest-abe-stache",
  "loganGoatee2Stache", "loganGoatee3soulStache", "muttonGoatee1Stache",
  "muttonGoatee2Stache", "muttonGoatee5Stache", "muttonStache", "muttonStacheSoul",
];
const BEARD_ONLY = [
  "chin-strap", "goatee1", "goatee2", "goatee3", "goatee4", "goatee5", "goatee9",
  "honest-abe", "logan", "loganGoatee2", "loganGoatee3", "loganGoatee3soul", "loganSoul",
  "mutton", "muttonGoatee1", "muttonGoatee2", "muttonGoatee5", "muttonSoul",
  "neckbeard", "neckbeardSB1", "neckbeardSB2",
];
// Never drawn (documentation only): a visible mustache without "stache" in
// the name (beard*, fullgoatee*, goatee6/11/12/15/16/19, the horseshoe
// harley*/harly*, neckbeard2*, wilt*), too faint or tiny to see at 64×64
// (mustache-thin, goatee-thin*, goatee7, goatee8, goatee10, goatee17,
// goatee18, soul, soul-stache), or sideburns only (sideburns1-3).
const EXCLUDED_FACIAL_HAIR = [
  "beard-point", "beard1", "beard2", "beard3", "beard4", "beard5", "beard6",
  "fullgoatee", "fullgoatee2", "fullgoatee3", "fullgoatee4", "fullgoatee5", "fullgoatee6",
  "goatee6", "goatee11", "goatee12", "goatee15", "goatee16", "goatee19",
  "harley1", "harley1-sb-1", "harley1-sb-2", "harley2", "harley2-sb-1", "harley2-sb-2",
  "harly3", "harly3-sb-1", "harly3-sb-2", "neckbeard2", "neckbeard2SB1", "neckbeard2SB2",
  "wilt", "wilt-sideburns-long", "wilt-sideburns-short",
  "mustache-thin", "goatee-thin", "goatee-thin-stache", "goatee7", "goatee8", "goatee10",
  "goatee17", "goatee18", "soul", "soul-stache", "sideburns1", "sideburns2", "sideburns3",
];
const BEARD_IDS = new Set([...BEARD_AND_MUSTACHE, ...BEARD_ONLY]);

// Mouths: smiling means an id starting with "smile". mouth2, mouth3, mouth7
// and mouth8 look like smiles or grins without the name, so are not used.
const SMILES = ["smile", "smile2", "smile3", "smile4", "smile-closed"];
const NOT_SMILES = ["angry", "closed", "mouth", "mouth4", "mouth5", "mouth6", "side", "straight"];

// Glasses (the sports "facemask" is not used) and hats (headbands and eye
// black are not used; the Santa hat is rarer than the caps).
const GLASSES = ["glasses1-primary", "glasses1-secondary", "glasses2-black", "glasses2-primary", "glasses2-secondary"];
const HATS = ["hat", "hat2", "hat3", "hat", "hat2", "hat3", "santa-hat"];
const HAT_IDS = new Set(HATS);

const RACES = ["white", "black", "brown", "asian"];

// Probabilities.
const P = {
  male: 0.5,
  facialHair: 0.45, // of males; split evenly over the three pools
  smiling: 0.4,
  glasses: 0.25,
  hat: 0.2,
};

// ---------------------------------------------------------------------------
// Random numbers.

// mulberry32 returns a PRNG with 32-bit state giving floats in [0, 1).
function mulberry32(a) {
  return function () {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// streamSeed derives a 32-bit seed for face index of stream ("face" or
// "misalign") from the user's seed, a decimal string.
function streamSeed(seed, index, stream) {
  return createHash("sha256").update(`forger-cartoon-faces:${seed}:${index}:${stream}`).digest().readUInt32LE(0);
}

const pick = (rand, list) => list[Math.floor(rand() * list.length)];

// ---------------------------------------------------------------------------
// One face.

// renderFace renders face index and returns its CSV row (without the file
// name) and the PNG bytes.
function renderFace(index, opts) {
  const rand = mulberry32(streamSeed(opts.seed, index, "face"));
  const male = rand() < P.male;
  const gender = male ? "male" : "female";
  const race = pick(rand, RACES);

  let facialHair = "none";
  if (male && rand() < P.facialHair) {
    facialHair = pick(rand, [MUSTACHE_ONLY, BEARD_AND_MUSTACHE, BEARD_ONLY][Math.floor(rand() * 3)]);
  }
  const mouth = rand() < P.smiling ? pick(rand, SMILES) : pick(rand, NOT_SMILES);
  const glasses = rand() < P.glasses ? pick(rand, GLASSES) : "none";
  const accessories = rand() < P.hat ? pick(rand, HATS) : "none";

  // facesjs draws its other choices (hair, eyes, nose, colours …) with
  // Math.random, so it gets the face's PRNG for the call.
  const saved = Math.random;
  let face, svg;
  try {
    Math.random = rand;
    face = generate(
      { facialHair: { id: facialHair }, mouth: { id: mouth }, glasses: { id: glasses }, accessories: { id: accessories } },
      { gender, race },
    );
    svg = faceToSvgString(face);
  } finally {
    Math.random = saved;
  }

  let transform = "";
  let misalign = null;
  if (opts.misalign) {
    const r = mulberry32(streamSeed(opts.seed, index, "misalign"));
    const round = (v, d) => Number(v.toFixed(d));
    misalign = {
      rotation: round((r() * 2 - 1) * MISALIGN.rotation, 2),
      scale: round(MISALIGN.scaleMin + r() * (MISALIGN.scaleMax - MISALIGN.scaleMin), 3),
      shiftX: round((r() * 2 - 1) * MISALIGN.shift, 3),
      shiftY: round((r() * 2 - 1) * MISALIGN.shift, 3),
    };
    // Scale and rotate about the centre of the crop, then shift by a
    // fraction of the image side (positive: right and down).
    const cx = CROP.x + CROP.side / 2, cy = CROP.y + CROP.side / 2;
    transform = ` transform="translate(${cx + misalign.shiftX * CROP.side} ${cy + misalign.shiftY * CROP.side}) ` +
      `rotate(${misalign.rotation}) scale(${misalign.scale}) translate(${-cx} ${-cy})"`;
  }

  // Replace the root element: a fixed pixel size and the crop as viewBox.
  const open = svg.indexOf(">", svg.indexOf("<svg"));
  const close = svg.lastIndexOf("</svg>");
  if (open < 0 || close < 0) throw new Error(`face ${index}: facesjs returned no <svg> element`);
  const s = opts.size;
  svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${s}" height="${s}" ` +
    `viewBox="${CROP.x} ${CROP.y} ${CROP.side} ${CROP.side}"><g${transform}>` +
    svg.slice(open + 1, close) + "</g></svg>";
  const png = new Resvg(svg, { background: BACKGROUND, font: { loadSystemFonts: false } }).render().asPng();

  const row = [
    male ? 1 : 0,
    /stache/i.test(face.facialHair.id) ? 1 : 0, // covers "mustache" too
    BEARD_IDS.has(face.facialHair.id) ? 1 : 0,
    face.glasses.id !== "none" ? 1 : 0,
    face.mouth.id.startsWith("smile") ? 1 : 0,
    HAT_IDS.has(face.accessories.id) ? 1 : 0,
    face.body.color,
  ];
  if (misalign) row.push(misalign.rotation, misalign.scale, misalign.shiftX, misalign.shiftY);
  return { row, png };
}

function fileName(index, n) {
  return String(index).padStart(Math.max(6, String(n - 1).length), "0") + ".png";
}

// checkFastSvg reports whether svg-string.mjs gives the same SVG as facesjs
// for a few faces drawn with a fixed PRNG.
function checkFastSvg() {
  const saved = Math.random;
  try {
    for (let i = 0; i < 24; i++) {
      Math.random = mulberry32(streamSeed("svg-check", i, "face"));
      const face = generate(undefined, { gender: i % 2 ? "male" : "female" });
      if (i % 3 === 0) face.accessories.id = HATS[i % HATS.length];
      const a = facesjsFaceToSvgString(structuredClone(face));
      const b = cachedFaceToSvgString(structuredClone(face));
      if (a !== b) return false;
    }
    return true;
  } finally {
    Math.random = saved;
  }
}

// ---------------------------------------------------------------------------
// Workers: each renders chunks of indices it is sent and writes the PNGs
// itself; the main thread collects the rows and writes the CSV.

if (!isMainThread) {
  const opts = workerData;
  if (opts.fastSvg) faceToSvgString = cachedFaceToSvgString;
  parentPort.on("message", ({ start, end }) => {
    const rows = [];
    for (let i = start; i < end; i++) {
      const { row, png } = renderFace(i, opts);
      fs.writeFileSync(path.join(opts.out, "images", fileName(i, opts.n)), png);
      rows.push(row);
    }
    parentPort.postMessage({ start, rows });
  });
} else {
  try {
    await main();
  } catch (err) {
    process.stderr.write(`render.mjs: ${err && err.message ? err.message : err}\n`);
    process.exit(1);
  }
}

function usage(msg) {
  process.stderr.write(`render.mjs: ${msg}\nusage: node render.mjs --n N --size S --out DIR [--seed K] [--misalign] [--workers W]\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { n: 0, size: 64, out: "", seed: "0", misalign: false, workers: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    const int = (v, lo, hi) => {
      if (!/^\d+$/.test(v) || +v < lo || +v > hi) usage(`${a} ${v}: want an integer in [${lo}, ${hi}]`);
      return +v;
    };
    switch (a) {
      case "--n": o.n = int(value(), 1, 10_000_000); break;
      case "--size": o.size = int(value(), 8, 4096); break;
      case "--out": o.out = value(); break;
      case "--seed": o.seed = value(); if (!/^-?\d+$/.test(o.seed)) usage(`--seed ${o.seed}: want an integer`); break;
      case "--misalign": o.misalign = true; break;
      case "--workers": o.workers = int(value(), 1, 256); break;
      case "-h": case "--help": usage("help");
      default: usage(`unknown argument ${a}`);
    }
  }
  if (!o.n) usage("--n is required");
  if (!o.out) usage("--out is required");
  o.seed = BigInt(o.seed).toString(); // canonical form: "007" and "7" are one seed
  return o;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  opts.fastSvg = checkFastSvg();
  if (!opts.fastSvg) process.stderr.write("warning: svg-string.mjs disagrees with facesjs's faceToSvgString; using facesjs's (slower)\n");
  fs.mkdirSync(path.join(opts.out, "images"), { recursive: true });
  const workers = Math.max(1, Math.min(opts.workers || os.availableParallelism?.() || os.cpus().length, Math.ceil(opts.n / 50)));
  const chunk = Math.max(1, Math.min(100, Math.ceil(opts.n / (workers * 4))));
  const every = Math.max(1, Math.min(1000, Math.round(opts.n / 100)));
  const rows = new Array(opts.n);
  const t0 = performance.now();
  let done = 0, next = 0, reported = 0;

  const report = () => {
    const secs = (performance.now() - t0) / 1000;
    process.stderr.write(`rendered ${done}/${opts.n} (${(done / secs).toFixed(1)} faces/s)\n`);
  };

  await new Promise((resolve, reject) => {
    let live = workers;
    let failed = false;
    const pool = [];
    const feed = (w) => {
      if (next >= opts.n) {
        w.terminate();
        return;
      }
      const start = next;
      next = Math.min(opts.n, next + chunk);
      w.postMessage({ start, end: next });
    };
    for (let k = 0; k < workers; k++) {
      const w = new Worker(new URL(import.meta.url), { workerData: opts });
      pool.push(w);
      w.on("message", ({ start, rows: got }) => {
        got.forEach((r, j) => { rows[start + j] = r; });
        done += got.length;
        if (done - reported >= every || done === opts.n) {
          reported = done;
          report();
        }
        feed(w);
      });
      w.on("error", (err) => {
        if (!failed) {
          failed = true;
          pool.forEach((p) => p.terminate());
          reject(err);
        }
      });
      w.on("exit", () => {
        if (--live === 0 && !failed) {
          if (done === opts.n) resolve();
          else reject(new Error(`workers stopped after ${done} of ${opts.n} faces`));
        }
      });
      feed(w);
    }
  });

  const header = ["file", "male", "mustache", "beard", "glasses", "smiling", "hat", "skin_tone"];
  if (opts.misalign) header.push("rotation_deg", "scale", "shift_x", "shift_y");
  const lines = [header.join(",")];
  for (let i = 0; i < opts.n; i++) lines.push([fileName(i, opts.n), ...rows[i]].join(","));
  const csv = path.join(opts.out, "attributes.csv");
  fs.writeFileSync(csv + ".tmp", lines.join("\n") + "\n");
  fs.renameSync(csv + ".tmp", csv);

  const secs = (performance.now() - t0) / 1000;
  process.stderr.write(`done: ${opts.n} faces of ${opts.size}x${opts.size} in ${secs.toFixed(1)} s ` +
    `(${(opts.n / secs).toFixed(1)} faces/s, ${workers} workers)\n`);
}
