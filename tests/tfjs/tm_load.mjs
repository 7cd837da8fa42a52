// node tm_load.mjs MODEL_DIR INPUT_BIN N SIZE
// Loads MODEL_DIR through Teachable Machine's own loader, `tmImage.load(modelURL, metadataURL)`,
// served over a loopback HTTP server (how the POS fetches it), on TF.js 4.22 / wasm. Prints
//   {"labels", "totalClasses", "metadata", "predictions", "pipelinePredictions"}
// predictions: TM's loaded `model.model.predict` on the given float batch (x/127 - 1).
// pipelinePredictions: TM's own `predict(image)` (cropTo + capture: fromPixels, x/127 - 1) fed the
// uint8 pixels recovered from that batch, so TM's own preprocessing code runs too.
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import * as tmImage from '@teachablemachine/image';

import { parseArgs, readBatch, tf, useWasm } from './lib.mjs';

// --- Minimal DOM shim for TM's cropTo(): a canvas whose 2D context can only copy an image of
// exactly its own size to (0, 0). Anything else (a resize, an offset crop, a flip) throws, so
// this shim can never silently stand in for real resampling: inputs must be pre-cropped.
class ShimCanvas {
  constructor() { this.width = 0; this.height = 0; this.data = null; }
  getContext(kind) {
    if (kind !== '2d') throw new Error(`shim canvas: unsupported context ${kind}`);
    const canvas = this;
    return {
      drawImage(img, x, y, w, h) {
        if (x !== 0 || y !== 0 || w !== canvas.width || h !== canvas.height ||
            img.width !== w || img.height !== h || !(img.data instanceof Uint8ClampedArray)) {
          throw new Error(`shim canvas: only an identity copy is supported, got ${img.width}x${img.height} -> (${x},${y},${w},${h}) on ${canvas.width}x${canvas.height}`);
        }
        canvas.data = new Uint8ClampedArray(img.data);
      },
      getImageData(x, y, w, h) {
        if (x !== 0 || y !== 0 || w !== canvas.width || h !== canvas.height || !canvas.data) {
          throw new Error('shim canvas: getImageData only of the whole drawn canvas');
        }
        return { data: canvas.data, width: w, height: h };
      },
      scale() { throw new Error('shim canvas: flipping is not supported'); },
    };
  }
}
globalThis.HTMLVideoElement ??= class HTMLVideoElement {};
globalThis.document ??= {
  createElement(tag) {
    if (tag !== 'canvas') throw new Error(`shim document: cannot create <${tag}>`);
    return new ShimCanvas();
  },
};

/** Serve only the files of `dir` on 127.0.0.1 (ephemeral port); record every request. */
async function serveDir(dir) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    const name = decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '');
    requests.push(name);
    if (name.includes('/') || name.includes('\\') || name.startsWith('.')) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(path.join(dir, name));
      const type = name.endsWith('.json') ? 'application/json' : 'application/octet-stream';
      res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, requests, base: `http://127.0.0.1:${server.address().port}/` };
}

/** Undo x/127 - 1 to the uint8 RGBA pixels it came from; refuse inputs not of that form. */
function toRgbaImage(floats, size) {
  const data = new Uint8ClampedArray(size * size * 4);
  for (let i = 0; i < size * size; i++) {
    for (let c = 0; c < 3; c++) {
      const v = (floats[i * 3 + c] + 1) * 127;
      const p = Math.round(v);
      if (Math.abs(v - p) > 1e-3 || p < 0 || p > 255) {
        throw new Error(`input value ${floats[i * 3 + c]} is not p/127 - 1 for a uint8 pixel p`);
      }
      data[i * 4 + c] = p;
    }
    data[i * 4 + 3] = 255;
  }
  return { width: size, height: size, data };
}

const { modelDir, input, n, size } = parseArgs(process.argv.slice(2), 'node tm_load.mjs');
const backend = await useWasm();
const { server, requests, base } = await serveDir(modelDir);
try {
  const model = await tmImage.load(base + 'model.json', base + 'metadata.json');
  if (!(model instanceof tmImage.CustomMobileNet)) throw new Error('TM load did not return a CustomMobileNet');
  const x = await readBatch(input, n, size);
  const y = model.model.predict(x);
  const predictions = await y.array();
  const flat = await x.data();
  const pipelinePredictions = [];
  for (let i = 0; i < n; i++) {
    const img = toRgbaImage(flat.subarray(i * size * size * 3, (i + 1) * size * size * 3), size);
    const classes = await model.predict(img);
    pipelinePredictions.push(classes.map((c) => c.probability));
  }
  const out = {
    backend,
    labels: model.getClassLabels(),
    totalClasses: model.getTotalClasses(),
    metadata: model.getMetadata(),
    requests,
    predictions,
    pipelinePredictions,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
} finally {
  server.close();
}
