#!/usr/bin/env node
// reference.mjs — reference outputs from face-api.js itself, for forger's Go
// re-implementation of its 68-point landmark net and its 128-D face
// descriptor net (face/testdata/reference.json).
//
// A dev tool: neither the build nor CI runs it. Its npm dependencies live in
// a throw-away folder, never in the repository:
//
//   scripts/face/get-models.sh        # models into ${FORGER_HOME:-~/.forger}/models/face
//   d=$(mktemp -d)
//   (cd "$d" && npm init -y >/dev/null && npm install --no-audit --no-fund \
//       @vladmandic/face-api@1.7.15 @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0)
//   node scripts/face/reference.mjs --deps "$d"
//
// It uses face-api's dist/face-api.node-wasm.js build, which needs only
// @tensorflow/tfjs (pure JS; brings the "cpu" backend) and
// @tensorflow/tfjs-backend-wasm (ships its .wasm files in the package), so
// nothing native is built or downloaded (@tensorflow/tfjs-node would
// download libtensorflow). Both backends run; "cpu" is the reference.
//
// Options (all optional):
//   --deps DIR       folder whose node_modules holds the packages above
//                    (default: resolve from this script's folder / NODE_PATH)
//   --models DIR     face model folder (default ${FORGER_HOME:-~/.forger}/models/face)
//   --inputs DIR     folder of input PNGs, all *.png in it (default face/testdata)
//   --out FILE       combined output (default INPUTS/reference.json; "-" = don't write)
//   --json-dir DIR   also write one JSON per input and backend there
//   --backends LIST  comma-separated, default cpu,wasm
//   --reps N         timed calls per net and input (default 20, after --warmup 3)
//   --warmup N
//
// For each input PNG (8-bit RGB/RGBA/grey, decoded by png.mjs with Node's zlib: no
// canvas), the pixels go in as a float32 tf.Tensor3D [H,W,3] with values
// 0..255, exactly as a decoded image would, to
//   FaceRecognitionNet.computeFaceDescriptor(tensor)  -> 128 floats
//   FaceLandmark68Net.detectLandmarks(tensor).positions -> 68 points in
//     input pixels (what face-api reports for an input that is the face crop)
// (the classes behind faceapi.nets.*, loaded with loadFromWeightMap), and
// also the landmark net's raw output (136 values, x,y interleaved, in [0,1]
// of the padded square it saw), so the mapping can be checked apart.
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodePNG } from './png.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');

function parseArgs(argv) {
  const o = {
    deps: '',
    models: path.join(process.env.FORGER_HOME || path.join(os.homedir(), '.forger'), 'models', 'face'),
    inputs: path.join(repo, 'face', 'testdata'),
    out: '',
    jsonDir: '',
    backends: 'cpu,wasm',
    reps: 20,
    warmup: 3,
  };
  const keys = { '--deps': 'deps', '--models': 'models', '--inputs': 'inputs', '--out': 'out', '--json-dir': 'jsonDir', '--backends': 'backends', '--reps': 'reps', '--warmup': 'warmup' };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let v;
    const eq = a.indexOf('=');
    if (eq > 0) { v = a.slice(eq + 1); a = a.slice(0, eq); }
    if (a === '-h' || a === '--help') {
      const lines = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
      console.log(lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.slice(3)).join('\n'));
      process.exit(0);
    }
    if (!(a in keys)) die(`unknown option ${a} (try --help)`);
    if (v === undefined) {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      v = argv[++i];
    }
    o[keys[a]] = v;
  }
  o.reps = Number(o.reps);
  o.warmup = Number(o.warmup);
  if (!(o.reps >= 1)) die('--reps must be >= 1');
  if (!o.out) o.out = path.join(o.inputs, 'reference.json');
  o.backends = o.backends.split(',').map((s) => s.trim()).filter(Boolean);
  return o;
}

function die(msg) {
  console.error(`reference.mjs: ${msg}`);
  process.exit(1);
}


// ---- helpers ----

const f32 = (v) => Number(Number(v).toPrecision(9)); // 9 significant digits round-trip a float32
const sha256 = (file) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const dist = (a, b) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0));
const maxAbs = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

// loadWeightMap reads a TF.js weights manifest and its .bin shards and
// decodes them with tf.io.decodeWeights (uint8 quantised: q*scale+min, as
// float32), the same routine face-api's loadFromDisk reaches.
function loadWeightMap(tf, dir, name) {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, `${name}-weights_manifest.json`), 'utf8'));
  const bufs = []; const specs = [];
  for (const group of manifest) {
    for (const p of group.paths) bufs.push(fs.readFileSync(path.join(dir, p)));
    specs.push(...group.weights);
  }
  const all = Buffer.concat(bufs);
  const ab = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return tf.io.decodeWeights(ab, specs);
}

// timeIt returns the median wall time and the median process CPU time
// (user+system) of one call, in ms. Both backends run on one thread here, so
// the CPU time stays meaningful on a busy machine where wall time does not.
async function timeIt(fn, warmup, reps) {
  for (let i = 0; i < warmup; i++) await fn();
  const wall = []; const cpu = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  const req = opt.deps ? createRequire(path.join(path.resolve(opt.deps), 'package.json')) : createRequire(import.meta.url);
  let tf; let wasm; let faceapi;
  try {
    tf = req('@tensorflow/tfjs');
    wasm = req('@tensorflow/tfjs-backend-wasm');
    faceapi = req('@vladmandic/face-api/dist/face-api.node-wasm.js');
  } catch (e) {
    die(`cannot load face-api / tfjs (${e.message.split('\n')[0]}); install them in a temp folder and pass --deps (see the top of this file)`);
  }
  const faVersion = JSON.parse(fs.readFileSync(req.resolve('@vladmandic/face-api/package.json'), 'utf8')).version;
  const wasmDir = path.join(path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  wasm.setWasmPaths(wasmDir);

  const modelFiles = ['face_landmark_68_model-weights_manifest.json', 'face_landmark_68_model.bin', 'face_recognition_model-weights_manifest.json', 'face_recognition_model.bin'];
  for (const f of modelFiles) {
    if (!fs.existsSync(path.join(opt.models, f))) die(`${path.join(opt.models, f)} is missing: run scripts/face/get-models.sh (or pass --models)`);
  }
  const inputs = fs.readdirSync(opt.inputs).filter((f) => f.toLowerCase().endsWith('.png')).sort();
  if (!inputs.length) die(`no .png files in ${opt.inputs}`);
  const images = inputs.map((f) => ({ file: f, ...decodePNG(fs.readFileSync(path.join(opt.inputs, f))) }));

  const cases = [];
  const backendInfo = {};
  for (const backend of opt.backends) {
    if (!(await tf.setBackend(backend))) die(`backend ${backend} did not initialise`);
    await tf.ready();
    const info = { tfjs: tf.version_core };
    if (backend === 'wasm') {
      info.simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      info.multithread = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
      info.threads = wasm.getThreadsCount();
    }
    backendInfo[backend] = info;
    console.error(`backend ${tf.getBackend()} ${JSON.stringify(info)}`);

    // fresh nets per backend, so that every weight lives on that backend
    const landmarkNet = new faceapi.FaceLandmark68Net();
    const recogNet = new faceapi.FaceRecognitionNet();
    landmarkNet.loadFromWeightMap(loadWeightMap(tf, opt.models, 'face_landmark_68_model'));
    recogNet.loadFromWeightMap(loadWeightMap(tf, opt.models, 'face_recognition_model'));

    for (const img of images) {
      const t = tf.tensor3d(Float32Array.from(img.rgb), [img.height, img.width, 3], 'float32');
      const descriptor = await recogNet.computeFaceDescriptor(t);
      const lm = await landmarkNet.detectLandmarks(t);
      const raw = tf.tidy(() => landmarkNet.runNet(new faceapi.NetInput([t])).dataSync());
      // face-api's mapping of the raw output back to input pixels
      // (FaceLandmark68NetBase.postProcess + FaceLandmarks): the net saw the
      // input zero-padded to a centred square of side S = max(W,H) and
      // resized to 112, so x = rx*S - (S-W)/2, y = ry*S - (S-H)/2.
      const S = Math.max(img.width, img.height);
      const mapped = lm.positions.map((p, i) => [raw[2 * i] * S - (S - img.width) / 2, raw[2 * i + 1] * S - (S - img.height) / 2]);
      const mapErr = Math.max(...lm.positions.map((p, i) => Math.max(Math.abs(p.x - mapped[i][0]), Math.abs(p.y - mapped[i][1]))));
      if (mapErr > 1e-3) console.error(`warning: ${img.file}: landmark mapping formula is off by ${mapErr} px`);
      const msDescriptor = await timeIt(() => recogNet.computeFaceDescriptor(t), opt.warmup, opt.reps);
      const msLandmarks = await timeIt(() => landmarkNet.detectLandmarks(t), opt.warmup, opt.reps);
      t.dispose();
      const c = {
        input: img.file,
        sha256: sha256(path.join(opt.inputs, img.file)),
        width: img.width,
        height: img.height,
        backend,
        descriptor: Array.from(descriptor, f32),
        landmarks: lm.positions.map((p) => [f32(p.x), f32(p.y)]),
        landmarks_net: Array.from(raw, f32),
        ms_descriptor: Number(msDescriptor.wall.toFixed(2)),
        ms_landmarks: Number(msLandmarks.wall.toFixed(2)),
        cpu_ms_descriptor: Number(msDescriptor.cpu.toFixed(2)),
        cpu_ms_landmarks: Number(msLandmarks.cpu.toFixed(2)),
      };
      cases.push(c);
      console.error(`${backend} ${img.file} ${img.width}x${img.height}: descriptor ${c.ms_descriptor} ms (cpu ${c.cpu_ms_descriptor}), landmarks ${c.ms_landmarks} ms (cpu ${c.cpu_ms_landmarks})`);
      if (opt.jsonDir) {
        fs.mkdirSync(opt.jsonDir, { recursive: true });
        const { sha256: _s, width: _w, height: _h, landmarks_net: _r, ...one } = c;
        fs.writeFileSync(path.join(opt.jsonDir, `${path.basename(img.file, '.png')}.${backend}.json`), JSON.stringify(one) + '\n');
      }
    }
    landmarkNet.dispose();
    recogNet.dispose();
  }

  // how far the backends are apart, against the first one
  const ref = opt.backends[0];
  const diffs = [];
  for (const c of cases.filter((x) => x.backend !== ref)) {
    const r = cases.find((x) => x.backend === ref && x.input === c.input);
    const lmPx = Math.max(...c.landmarks.map((p, i) => Math.hypot(p[0] - r.landmarks[i][0], p[1] - r.landmarks[i][1])));
    diffs.push({
      input: c.input,
      backends: [ref, c.backend],
      descriptor_euclidean: Number(dist(c.descriptor, r.descriptor).toPrecision(3)),
      descriptor_max_abs: Number(maxAbs(c.descriptor, r.descriptor).toPrecision(3)),
      landmarks_max_px: Number(lmPx.toPrecision(3)),
    });
  }
  // descriptor distances between the inputs (reference backend)
  const refCases = cases.filter((x) => x.backend === ref);
  const distances = [];
  for (let i = 0; i < refCases.length; i++) {
    for (let j = i + 1; j < refCases.length; j++) {
      distances.push({ a: refCases[i].input, b: refCases[j].input, euclidean: Number(dist(refCases[i].descriptor, refCases[j].descriptor).toFixed(4)) });
    }
  }
  const timing = {};
  for (const b of opt.backends) {
    const cs = cases.filter((x) => x.backend === b);
    const med = (k) => Number(median(cs.map((x) => x[k])).toFixed(2));
    timing[b] = { ms_descriptor: med('ms_descriptor'), ms_landmarks: med('ms_landmarks'), cpu_ms_descriptor: med('cpu_ms_descriptor'), cpu_ms_landmarks: med('cpu_ms_landmarks') };
  }

  const out = {
    generator: 'scripts/face/reference.mjs',
    face_api: `@vladmandic/face-api@${faVersion} dist/face-api.node-wasm.js`,
    tfjs: tf.version_core,
    node: process.version,
    reference_backend: ref,
    backends: backendInfo,
    models: Object.fromEntries(modelFiles.map((f) => [f, sha256(path.join(opt.models, f))])),
    input_format: 'PNG decoded to RGB bytes, fed as a float32 tf.Tensor3D [H,W,3] of 0..255',
    landmarks_format: 'landmarks: 68 [x,y] in input pixels (face-api positions); landmarks_net: raw net output, 136 values x0,y0,x1,y1,... relative to the zero-padded centred square of side max(W,H)',
    timing_ms_median_over_inputs: timing, // ms_*: wall time; cpu_ms_*: process CPU time
    backend_diffs: diffs,
    descriptor_distances: distances,
    cases,
  };
  // one case per line keeps the file diffable
  const text = JSON.stringify({ ...out, cases: [] }, null, 1).replace(/"cases": \[\]\n}$/, () => `"cases": [\n${cases.map((c) => JSON.stringify(c)).join(',\n')}\n]\n}\n`);
  JSON.parse(text);
  if (opt.out !== '-') {
    fs.writeFileSync(opt.out, text);
    console.error(`wrote ${opt.out} (${cases.length} cases)`);
  }
  for (const d of diffs) console.error(`${d.backends.join(' vs ')} ${d.input}: descriptor L2 ${d.descriptor_euclidean} (max |d| ${d.descriptor_max_abs}), landmarks max ${d.landmarks_max_px} px`);
  console.error(`timing (median over inputs of per-input medians): ${JSON.stringify(timing)}`);
}

main().catch((e) => die(e.stack || String(e)));
