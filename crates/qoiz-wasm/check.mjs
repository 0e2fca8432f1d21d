// Checks the QOIZ WebAssembly module the way the browser worker uses it:
// instantiate, copy data in with qoiz_alloc, decode, read RGBA and errors.
//
//   cargo build -p oriel-qoiz-wasm --target wasm32-unknown-unknown --release
//   node crates/qoiz-wasm/check.mjs [WASM] [SAMPLES_DIR]
//
// Without SAMPLES_DIR it runs the write_samples example (native encoder) into
// a temporary directory first. Exits non-zero on any mismatch.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const wasmPath = process.argv[2] ??
  join(root, 'target', 'wasm32-unknown-unknown', 'release', 'oriel_qoiz_wasm.wasm');
let samples = process.argv[3];
if (!samples) {
  samples = mkdtempSync(join(tmpdir(), 'qoiz-samples-'));
  execFileSync('cargo', ['run', '--release', '-q', '-p', 'oriel-qoiz-wasm', '--example', 'write_samples', '--', samples],
    { cwd: root, stdio: 'inherit' });
}

const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {});
const q = instance.exports;
const exportsWanted = ['memory', 'qoiz_alloc', 'qoiz_free', 'qoiz_decoder_new', 'qoiz_decoder_free',
  'qoiz_decode', 'qoiz_decode_frame', 'qoiz_output_ptr', 'qoiz_output_len', 'qoiz_error_ptr', 'qoiz_error_len'];
const missing = exportsWanted.filter((name) => !(name in q));
if (missing.length) throw new Error(`missing exports: ${missing.join(', ')}`);

// Same 32-bit FNV-1a as write_samples.rs.
function fnv1a(bytes) {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return h;
}

const handle = q.qoiz_decoder_new();
let passed = 0;
let failed = 0;
for (const rect of JSON.parse(readFileSync(join(samples, 'manifest.json'), 'utf8'))) {
  const data = readFileSync(join(samples, rect.file));
  const ptr = q.qoiz_alloc(data.length);
  new Uint8Array(q.memory.buffer, ptr, data.length).set(data);
  const started = performance.now();
  // CODEC_QOIZ_SESSION (3): a whole frame's operations, not one rectangle.
  const frame = rect.codec === 3;
  const status = frame
    ? q.qoiz_decode_frame(handle, rect.reset, ptr, data.length)
    : q.qoiz_decode(handle, rect.codec, rect.reset, ptr, data.length, rect.width, rect.height);
  const ms = (performance.now() - started).toFixed(2);
  q.qoiz_free(ptr, data.length);
  const error = new TextDecoder().decode(
    new Uint8Array(q.memory.buffer, q.qoiz_error_ptr(handle), q.qoiz_error_len(handle)));
  let ok;
  if (rect.fnv === null) {
    ok = status < 0 && error.length > 0;
    console.log(`${rect.file}: refused as expected (${status}: ${error})`);
  } else {
    const len = frame ? q.qoiz_output_len(handle) : rect.width * rect.height * 4;
    const output = new Uint8Array(q.memory.buffer, q.qoiz_output_ptr(handle), len);
    ok = status === 0 && fnv1a(output) === rect.fnv;
    const what = frame ? `frame of ${len} B ops` : `${rect.width}x${rect.height}`;
    console.log(`${rect.file}: codec ${rect.codec} ${what} ${data.length} B ` +
      `status ${status} ${ms} ms ${ok ? 'ok' : `MISMATCH ${error}`}`);
  }
  if (ok) passed++; else failed++;
}
q.qoiz_decoder_free(handle);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
