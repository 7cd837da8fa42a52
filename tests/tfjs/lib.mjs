// Shared plumbing for the TF.js compatibility scripts: the real @tensorflow/tfjs 4.22 with the
// wasm backend, loaded entirely from local files (no network), and the raw input format.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

const require = createRequire(import.meta.url);

/** Use the wasm backend with the .wasm binaries shipped inside the npm package. */
export async function useWasm() {
  const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  setWasmPaths(path.join(wasmDir, 'dist') + path.sep);
  if (!(await tf.setBackend('wasm'))) throw new Error('TF.js wasm backend failed to initialise');
  await tf.ready();
  if (tf.getBackend() !== 'wasm') throw new Error(`expected wasm backend, got ${tf.getBackend()}`);
  return tf.getBackend();
}

/**
 * IOHandler that reads model.json and the weight files its manifest names from a folder,
 * exactly as an HTTP loader would resolve them relative to model.json.
 */
export function diskHandler(modelDir) {
  return {
    async load() {
      const modelJSON = JSON.parse(await readFile(path.join(modelDir, 'model.json'), 'utf8'));
      return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
        const specs = [];
        const buffers = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) {
            const buf = await readFile(path.join(modelDir, p));
            buffers.push(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
          }
        }
        return [specs, tf.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}

/** Read N images of SIZE x SIZE x 3 float32 (little-endian) as a tensor [N, SIZE, SIZE, 3]. */
export async function readBatch(file, n, size) {
  const buf = await readFile(file);
  const expected = n * size * size * 3 * 4;
  if (buf.byteLength !== expected) {
    throw new Error(`${file}: ${buf.byteLength} bytes, expected ${expected} for [${n},${size},${size},3] float32`);
  }
  const values = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  return tf.tensor4d(values, [n, size, size, 3], 'float32');
}

export function parseArgs(argv, usage) {
  if (argv.length !== 4) {
    process.stderr.write(`usage: ${usage} MODEL_DIR INPUT_BIN N SIZE\n`);
    process.exit(2);
  }
  const [modelDir, input, n, size] = argv;
  return { modelDir: path.resolve(modelDir), input, n: Number(n), size: Number(size) };
}

export { tf };
