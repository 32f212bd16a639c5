// Runs a forger ONNX export in ONNX Runtime (npm onnxruntime-node, CPU) on
// the inputs forger wrote, and prints the largest absolute difference from
// forger's own images, as one JSON line:
//   {"max_abs_diff":…, "dims":[N,C,H,W], "n":N}
//
//   forger export onnx CKPT --out G.onnx --check-out check.json
//   node scripts/interop/onnx-check.mjs G.onnx check.json
//
// check.json: {"z":[…], "z_shape":[N,NZ], "class":[…] (conditional models),
// "truncation":ψ (a stylegan's images'; fed to a graph with a truncation input),
// "images":[…] (NCHW), "shape":[N,C,H,W]}. forger export onnx --verify and
// go test ./interop/onnx run it (after npm ci --ignore-scripts here).
import fs from 'node:fs';
import ort from 'onnxruntime-node';

const [model, check] = process.argv.slice(2);
if (!model || !check) {
  console.error('usage: node onnx-check.mjs G.onnx check.json');
  process.exit(2);
}
const c = JSON.parse(fs.readFileSync(check, 'utf8'));
const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
const feeds = { z: new ort.Tensor('float32', Float32Array.from(c.z), c.z_shape) };
if (c.class) {
  feeds.class = new ort.Tensor('int64', BigInt64Array.from(c.class.map((v) => BigInt(v))), [c.class.length]);
}
if (session.inputNames.includes('truncation')) {
  if (typeof c.truncation !== 'number') {
    console.error('onnx-check: the graph takes truncation, and the check has none');
    process.exit(1);
  }
  feeds.truncation = new ort.Tensor('float32', Float32Array.from([c.truncation]), []);
}
const out = (await session.run(feeds)).image;
if (out.dims.join(',') !== c.shape.join(',')) {
  console.error(`onnx-check: ONNX Runtime gave ${JSON.stringify(out.dims)}, forger ${JSON.stringify(c.shape)}`);
  process.exit(1);
}
let max = 0;
for (let i = 0; i < out.data.length; i++) {
  const d = Math.abs(out.data[i] - c.images[i]);
  if (!(d <= max)) max = d; // NaN counts as a difference
}
console.log(JSON.stringify({ max_abs_diff: max, dims: out.dims, n: c.shape[0] }));
