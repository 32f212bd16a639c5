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
import { decodePNG } from './png.mjs';


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
