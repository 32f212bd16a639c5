#!/usr/bin/env node
// scripts/face/pipeline-reference.mjs — face-api.js's whole pipeline (SSD MobileNet v1
// detection, 68-point landmarks, descriptors) on whole photos, for the Go
// tests of face.DescriptorBox / DescriptorNet.EmbedFace and of the
// detector (face/detect_test.go, faceapi_pipeline.json). A dev tool, like
// scripts/face/reference.mjs (whose PNG decoder and weight loader it
// copies); its npm dependencies live in a throw-away folder:
//
//   d=$(mktemp -d)
//   (cd "$d" && npm init -y >/dev/null && npm install --no-audit --no-fund \
//       @vladmandic/face-api@1.7.15 @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0)
//   node scripts/face/pipeline-reference.mjs "$d" OUT.json NAME=PNG …
//
// Each PNG (8-bit RGB) goes in as an int32 tensor [H,W,3] to
//   detectAllFaces(t, SsdMobilenetv1Options({minConfidence: 0.5}))
//     .withFaceLandmarks().withFaceDescriptors()
// on the wasm backend (which agrees with cpu to ~1e-6, see reference.json),
// with the models of the face-api package itself. For each face it records
// the detection box and score, the landmarks in image pixels, the box
// face-api cuts for the descriptor (landmarks.align(null,
// {useDlibAlignment: true})) and the descriptor.
//
// faceapi_pipeline.json was made from astronaut.png (scikit-image, as is)
// and sample3.jpg (face-api's demo photo) decoded by Go's image/jpeg and
// saved as an 8-bit RGB PNG, so that both sides see the same pixels.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

function decodePNG(buf) {
  const sig = [137, 80, 78, 71, 13, 10, 26, 10];
  if (!sig.every((b, i) => buf[i] === b)) throw new Error('not a PNG');
  let pos = 8;
  let width = 0; let height = 0; let depth = 0; let ctype = 0; let interlace = 0;
  const idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0); height = data.readUInt32BE(4);
      depth = data[8]; ctype = data[9]; interlace = data[12];
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[ctype];
  if (depth !== 8 || !channels || interlace !== 0) throw new Error(`unsupported PNG (bit depth ${depth}, colour type ${ctype}, interlace ${interlace}): use 8-bit RGB, RGBA or grey`);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const px = new Uint8Array(height * stride);
  let prev = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = px.subarray(y * stride, (y + 1) * stride);
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? cur[x - channels] : 0;
      const b = prev[x];
      const c = x >= channels ? prev[x - channels] : 0;
      let p;
      switch (f) {
        case 0: p = 0; break;
        case 1: p = a; break;
        case 2: p = b; break;
        case 3: p = (a + b) >> 1; break;
        case 4: {
          const pa = Math.abs(b - c); const pb = Math.abs(a - c); const pc = Math.abs(a + b - 2 * c);
          p = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c);
          break;
        }
        default: throw new Error(`bad PNG filter ${f}`);
      }
      cur[x] = (line[x] + p) & 255;
    }
    prev = cur;
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    for (let k = 0; k < 3; k++) rgb[i * 3 + k] = px[i * channels + (channels >= 3 ? k : 0)];
  }
  return { width, height, rgb };
}

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

const f9 = (v) => Number(Number(v).toPrecision(9));
const [deps, outFile, ...inputs] = process.argv.slice(2);
if (!deps || !outFile || !inputs.length) {
  console.error('usage: scripts/face/pipeline-reference.mjs DEPS_DIR OUT.json NAME=FILE.png …');
  process.exit(2);
}
const req = createRequire(path.join(path.resolve(deps), 'package.json'));
const tf = req('@tensorflow/tfjs');
const wasm = req('@tensorflow/tfjs-backend-wasm');
const faceapi = req('@vladmandic/face-api/dist/face-api.node-wasm.js');
wasm.setWasmPaths(path.join(path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);
await tf.setBackend('wasm');
await tf.ready();
const mdir = path.join(path.dirname(req.resolve('@vladmandic/face-api/package.json')), 'model');
faceapi.nets.ssdMobilenetv1.loadFromWeightMap(loadWeightMap(tf, mdir, 'ssd_mobilenetv1_model'));
faceapi.nets.faceLandmark68Net.loadFromWeightMap(loadWeightMap(tf, mdir, 'face_landmark_68_model'));
faceapi.nets.faceRecognitionNet.loadFromWeightMap(loadWeightMap(tf, mdir, 'face_recognition_model'));
const out = {
  generator: 'scripts/face/pipeline-reference.mjs',
  face_api: JSON.parse(fs.readFileSync(req.resolve('@vladmandic/face-api/package.json'), 'utf8')).version,
  tfjs: tf.version_core,
  backend: tf.getBackend(),
  photos: {},
};
for (const arg of inputs) {
  const [name, file] = arg.split('=');
  const img = decodePNG(fs.readFileSync(file));
  const t = tf.tensor3d(Int32Array.from(img.rgb), [img.height, img.width, 3], 'int32');
  const res = await faceapi.detectAllFaces(t, new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 }))
    .withFaceLandmarks().withFaceDescriptors();
  t.dispose();
  out.photos[name] = {
    width: img.width,
    height: img.height,
    faces: res.map((r) => {
      const b = r.detection.box;
      const d = r.landmarks.align(null, { useDlibAlignment: true });
      return {
        score: f9(r.detection.score),
        box: [b.x, b.y, b.width, b.height].map(f9),
        descriptor_box: [d.x, d.y, d.width, d.height],
        landmarks: r.landmarks.positions.map((p) => [f9(p.x), f9(p.y)]),
        descriptor: Array.from(r.descriptor, f9),
      };
    }),
  };
  console.error(`${name}: ${res.length} faces`);
}
fs.writeFileSync(outFile, `${JSON.stringify(out)}\n`);
