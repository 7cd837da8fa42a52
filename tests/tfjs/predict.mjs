// node predict.mjs MODEL_DIR INPUT_BIN N SIZE
// Loads MODEL_DIR/model.json (+ the weight files its manifest names) with TF.js 4.22 on the
// wasm backend and prints {"backend", "predictions", "ms"} for the preprocessed input batch.
import { diskHandler, parseArgs, readBatch, tf, useWasm } from './lib.mjs';

const { modelDir, input, n, size } = parseArgs(process.argv.slice(2), 'node predict.mjs');
const backend = await useWasm();
const model = await tf.loadLayersModel(diskHandler(modelDir));
const x = await readBatch(input, n, size);
const t0 = performance.now();
const y = model.predict(x);
const predictions = await y.array();
const ms = performance.now() - t0;
process.stdout.write(JSON.stringify({ backend, predictions, ms }) + '\n');
