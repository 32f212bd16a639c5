#!/usr/bin/env node
// person.mjs — render cartoon faces of ONE person, as if photographed N times.
//
// Usage: node person.mjs --person P --n N --size S --out DIR [--seed K] [--faces FILE]
//
// --person picks the identity: sex, skin colour, head, face shape and
// fatness, ears, eyes, eyebrows, nose, the lines of the face (eye, smile,
// forehead/chin lines, freckles), hair colour, facial hair, and the
// person's pair of glasses and three hairdos. --seed picks what changes
// from photo to photo: which of the three hairdos (the usual one 70%, each
// other 15%), the mouth (smiling 50%), glasses on (30%), a hat (20%), the
// shirt, and a small misalignment (rotation within ±5°, scale 0.95–1.05,
// shift within ±5% of the side, as phone photos vary).
//
// Writes DIR/images/000000.png … and DIR/attributes.csv with the columns of
// a misaligned general set (render.mjs --misalign):
//
//   file,male,mustache,beard,glasses,smiling,hat,skin_tone,rotation_deg,scale,shift_x,shift_y
//
// --faces FILE also writes one JSON line per image, {"file", "face"}, with
// facesjs's face object (what the tests check the identity with; the
// objects can be drawn again with facesjs at any size).
//
// This is a separate program from render.mjs, which it copies the crop, the
// background, the PRNG, the transform and the id lists from (a Go test
// checks they agree), so that render.mjs and the general sets rendered with
// it stay unchanged. One thread: person sets are small (300 faces of 64×64
// take about 2 s).

import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

import { Resvg } from "@resvg/resvg-js";
import { faceToSvgString as facesjsFaceToSvgString, generate, svgsIndex } from "facesjs";

import { faceToSvgString as cachedFaceToSvgString } from "./svg-string.mjs";

let faceToSvgString = facesjsFaceToSvgString;

// ---------------------------------------------------------------------------
// Shared with render.mjs (the Go test TestCartoonPersonSharesRenderer checks
// these lines are the same there).

const CROP = { x: -30, y: 50, side: 460 };
const BACKGROUND = "#eeeeee";
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
const BEARD_IDS = new Set([...BEARD_AND_MUSTACHE, ...BEARD_ONLY]);
const SMILES = ["smile", "smile2", "smile3", "smile4", "smile-closed"];
const NOT_SMILES = ["angry", "closed", "mouth", "mouth4", "mouth5", "mouth6", "side", "straight"];
const GLASSES = ["glasses1-primary", "glasses1-secondary", "glasses2-black", "glasses2-primary", "glasses2-secondary"];
const HATS = ["hat", "hat2", "hat3", "hat", "hat2", "hat3", "santa-hat"];
const HAT_IDS = new Set(HATS);
const RACES = ["white", "black", "brown", "asian"];

function mulberry32(a) {
  return function () {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = (rand, list) => list[Math.floor(rand() * list.length)];

// ---------------------------------------------------------------------------
// Person sets.

// Identity: the same mix as render.mjs's general sets (male 50%, 45% of
// men with facial hair in three even pools, race uniform).
const P_MALE = 0.5;
const P_FACIAL_HAIR = 0.45;

// Per photo.
const P = {
  usualHair: 0.7, // else one of the two other hairdos, evenly
  smiling: 0.5,
  glasses: 0.3,
  hat: 0.2,
};

// Misalignment of every photo: uniform in these intervals (render.mjs
// --misalign uses ±20°, 0.85–1.15, ±0.1).
const MISALIGN = { rotation: 5, scaleMin: 0.95, scaleMax: 1.05, shift: 0.05 };

// IDENTITY_KEYS are the parts of facesjs's face object that make the
// person: equal in every photo of a set. The rest (hair.id, hair.flip,
// hairBg, mouth, glasses, accessories, jersey) may change.
const IDENTITY_KEYS = ["fatness", "teamColors", "body", "ear", "head", "eyeLine", "smileLine",
  "miscLine", "facialHair", "eye", "eyebrow", "nose", "hair.color"];

// personSeed derives a 32-bit seed from the given parts.
function personSeed(...parts) {
  return createHash("sha256").update(`forger-cartoon-faces:person:${parts.join(":")}`).digest().readUInt32LE(0);
}

// withRandom runs f with Math.random replaced by rand (facesjs draws its
// choices with Math.random).
function withRandom(rand, f) {
  const saved = Math.random;
  try {
    Math.random = rand;
    return f();
  } finally {
    Math.random = saved;
  }
}

// makePerson returns person's face (with a straight mouth, no glasses, no
// hat), their pair of glasses and their three hairdos.
function makePerson(person) {
  const rand = mulberry32(personSeed(person, "identity"));
  const male = rand() < P_MALE;
  const gender = male ? "male" : "female";
  const race = pick(rand, RACES);
  let facialHair = "none";
  if (male && rand() < P_FACIAL_HAIR) {
    facialHair = pick(rand, [MUSTACHE_ONLY, BEARD_AND_MUSTACHE, BEARD_ONLY][Math.floor(rand() * 3)]);
  }
  const glasses = pick(rand, GLASSES);
  const base = withRandom(rand, () => generate(
    { facialHair: { id: facialHair }, mouth: { id: "straight", flip: false }, glasses: { id: "none" }, accessories: { id: "none" } },
    { gender, race },
  ));
  const hairdo = (f) => ({ id: f.hair.id, flip: f.hair.flip, bg: f.hairBg.id });
  const hairdos = [hairdo(base)];
  // Two other hairdos facesjs would give the same person, different from
  // the ones so far where it offers that many.
  for (let tries = 0; hairdos.length < 3 && tries < 50; tries++) {
    const h = hairdo(withRandom(rand, () => generate(undefined, { gender, race })));
    if (!hairdos.some((o) => o.id === h.id) || tries >= 40) hairdos.push(h);
  }
  return { male, base, glasses, hairdos };
}

// photoFace returns the face of photo index: the person with the hairdo,
// mouth, glasses, hat and shirt of that photo.
function photoFace(person, opts, index) {
  const rand = mulberry32(personSeed(opts.person, opts.seed, index, "photo"));
  const face = structuredClone(person.base);
  const u = rand();
  const h = person.hairdos[u < P.usualHair ? 0 : u < P.usualHair + (1 - P.usualHair) / 2 ? 1 : 2];
  face.hair.id = h.id;
  face.hair.flip = h.flip;
  face.hairBg.id = h.bg;
  face.mouth.id = rand() < P.smiling ? pick(rand, SMILES) : pick(rand, NOT_SMILES);
  face.mouth.flip = rand() < 0.5;
  face.glasses.id = rand() < P.glasses ? person.glasses : "none";
  face.accessories.id = rand() < P.hat ? pick(rand, HATS) : "none";
  face.jersey.id = pick(rand, svgsIndex.jersey);
  return face;
}

// renderPhoto renders photo index and returns its CSV row (without the file
// name), its face object and the PNG bytes.
function renderPhoto(person, opts, index) {
  const face = photoFace(person, opts, index);
  let svg = faceToSvgString(structuredClone(face));

  const r = mulberry32(personSeed(opts.person, opts.seed, index, "misalign"));
  const round = (v, d) => Number(v.toFixed(d));
  const m = {
    rotation: round((r() * 2 - 1) * MISALIGN.rotation, 2),
    scale: round(MISALIGN.scaleMin + r() * (MISALIGN.scaleMax - MISALIGN.scaleMin), 3),
    shiftX: round((r() * 2 - 1) * MISALIGN.shift, 3),
    shiftY: round((r() * 2 - 1) * MISALIGN.shift, 3),
  };
  // As render.mjs: scale and rotate about the centre of the crop, then
  // shift by a fraction of the image side (positive: right and down).
  const cx = CROP.x + CROP.side / 2, cy = CROP.y + CROP.side / 2;
  const transform = ` transform="translate(${cx + m.shiftX * CROP.side} ${cy + m.shiftY * CROP.side}) ` +
    `rotate(${m.rotation}) scale(${m.scale}) translate(${-cx} ${-cy})"`;

  const open = svg.indexOf(">", svg.indexOf("<svg"));
  const close = svg.lastIndexOf("</svg>");
  if (open < 0 || close < 0) throw new Error(`face ${index}: facesjs returned no <svg> element`);
  const s = opts.size;
  svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${s}" height="${s}" ` +
    `viewBox="${CROP.x} ${CROP.y} ${CROP.side} ${CROP.side}"><g${transform}>` +
    svg.slice(open + 1, close) + "</g></svg>";
  const png = new Resvg(svg, { background: BACKGROUND, font: { loadSystemFonts: false } }).render().asPng();

  const row = [
    person.male ? 1 : 0,
    /stache/i.test(face.facialHair.id) ? 1 : 0,
    BEARD_IDS.has(face.facialHair.id) ? 1 : 0,
    face.glasses.id !== "none" ? 1 : 0,
    face.mouth.id.startsWith("smile") ? 1 : 0,
    HAT_IDS.has(face.accessories.id) ? 1 : 0,
    face.body.color,
    m.rotation, m.scale, m.shiftX, m.shiftY,
  ];
  return { row, face, png };
}

function fileName(index, n) {
  return String(index).padStart(Math.max(6, String(n - 1).length), "0") + ".png";
}

// checkFastSvg reports whether svg-string.mjs gives the same SVG as facesjs
// for a few faces (as render.mjs does).
function checkFastSvg() {
  for (let i = 0; i < 12; i++) {
    const face = withRandom(mulberry32(personSeed("svg-check", i)), () => generate(undefined, { gender: i % 2 ? "male" : "female" }));
    if (i % 3 === 0) face.accessories.id = HATS[i % HATS.length];
    if (facesjsFaceToSvgString(structuredClone(face)) !== cachedFaceToSvgString(structuredClone(face))) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------

function usage(msg) {
  process.stderr.write(`person.mjs: ${msg}\nusage: node person.mjs --person P --n N --size S --out DIR [--seed K] [--faces FILE]\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { person: "", n: 0, size: 64, out: "", seed: "0", faces: "" };
  const integer = (a, v) => {
    if (!/^-?\d+$/.test(v)) usage(`${a} ${v}: want an integer`);
    return BigInt(v).toString(); // canonical form: "007" and "7" are one seed
  };
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
      case "--person": o.person = integer(a, value()); break;
      case "--n": o.n = int(value(), 1, 10_000_000); break;
      case "--size": o.size = int(value(), 8, 4096); break;
      case "--out": o.out = value(); break;
      case "--seed": o.seed = integer(a, value()); break;
      case "--faces": o.faces = value(); break;
      case "-h": case "--help": usage("help");
      default: usage(`unknown argument ${a}`);
    }
  }
  if (o.person === "") usage("--person is required");
  if (!o.n) usage("--n is required");
  if (!o.out) usage("--out is required");
  return o;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (checkFastSvg()) faceToSvgString = cachedFaceToSvgString;
  else process.stderr.write("warning: svg-string.mjs disagrees with facesjs's faceToSvgString; using facesjs's (slower)\n");
  fs.mkdirSync(path.join(opts.out, "images"), { recursive: true });
  const person = makePerson(opts.person);
  const every = Math.max(1, Math.min(1000, Math.round(opts.n / 100)));
  const t0 = performance.now();
  const rate = (done) => (done / ((performance.now() - t0) / 1000)).toFixed(1);
  const lines = [["file", "male", "mustache", "beard", "glasses", "smiling", "hat", "skin_tone",
    "rotation_deg", "scale", "shift_x", "shift_y"].join(",")];
  const faces = [];
  for (let i = 0; i < opts.n; i++) {
    const { row, face, png } = renderPhoto(person, opts, i);
    const file = fileName(i, opts.n);
    fs.writeFileSync(path.join(opts.out, "images", file), png);
    lines.push([file, ...row].join(","));
    if (opts.faces) faces.push(JSON.stringify({ file, face }));
    if ((i + 1) % every === 0 || i + 1 === opts.n) process.stderr.write(`rendered ${i + 1}/${opts.n} (${rate(i + 1)} faces/s)\n`);
  }
  const csv = path.join(opts.out, "attributes.csv");
  fs.writeFileSync(csv + ".tmp", lines.join("\n") + "\n");
  fs.renameSync(csv + ".tmp", csv);
  if (opts.faces) fs.writeFileSync(opts.faces, faces.join("\n") + "\n");
  const secs = (performance.now() - t0) / 1000;
  process.stderr.write(`done: ${opts.n} photos of person ${opts.person} (${person.male ? "male" : "female"}, ` +
    `skin ${person.base.body.color}), ${opts.size}x${opts.size}, in ${secs.toFixed(1)} s (${rate(opts.n)} faces/s)\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`person.mjs: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
}
