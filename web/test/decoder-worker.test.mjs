// The decoder worker (src/decoder.worker.ts, through src/qoiz.ts) and what
// it answers for each rect: decoded rects and session frames, and after one
// that does not decode, skipped rects until a keyframe decodes again; only
// keyframes failing again and again, a trap or a module that does not
// load stop it for good. A scripted stand-in for the wasm module decodes
// here: each rect's first data byte says what it does.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'rolldown';

const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
const { output } = await build({ input: join(import.meta.dirname, '../src/decoder.worker.ts'), write: false, logLevel: 'silent' });
const workerFile = join(dir, 'decoder.worker.mjs');
writeFileSync(workerFile, output[0].code);

/** What a rect's first data byte makes the stand-in do. */
const OK = 1;
const BAD = 0;
const TRAP = 3;
/** Decodes "fine" to operations that are not a whole list. */
const BAD_OPS = 2;
/** What a good session frame decodes to: one copy. */
const COPY_OP = [1, 0, 0, 4, 4, 0, 8];

/** The wasm module's exports, scripted; `calls` lists the decodes, codec and reset flag. */
function standIn() {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const bytes = () => new Uint8Array(memory.buffer);
  const DATA = 1024;
  const OUTPUT = 4096;
  const ERROR = 8192;
  let outputLen = 0;
  let errorLen = 0;
  const calls = [];
  const fail = (text) => {
    const encoded = new TextEncoder().encode(text);
    bytes().set(encoded, ERROR);
    errorLen = encoded.length;
    return -3;
  };
  const output = (data) => {
    bytes().set(data, OUTPUT);
    outputLen = data.length;
    return 0;
  };
  const exports = {
    memory,
    qoiz_alloc: () => DATA,
    qoiz_free: () => {},
    qoiz_decoder_new: () => 1,
    qoiz_decoder_free: () => {},
    qoiz_decode: (handle, codec, reset, ptr, len, width, height) => {
      calls.push([codec, reset]);
      const mode = bytes()[ptr];
      if (mode === BAD) return fail('bad QOI');
      return output(new Uint8Array(width * height * 4).fill(mode));
    },
    qoiz_decode_frame: (handle, reset, ptr, len) => {
      calls.push([3, reset]);
      const mode = bytes()[ptr];
      if (mode === TRAP) throw new WebAssembly.RuntimeError('unreachable');
      if (mode === BAD) return fail('zstd: corrupt block');
      if (mode === BAD_OPS) return output([1, 2, 3]);
      return output(new Uint8Array(Uint32Array.from(COPY_OP).buffer));
    },
    qoiz_output_ptr: () => OUTPUT,
    qoiz_output_len: () => outputLen,
    qoiz_error_ptr: () => ERROR,
    qoiz_error_len: () => errorLen,
  };
  return { exports, calls };
}

let loads = 0;
/**
 * A fresh worker (its own module instance) on `exports`, or on a module
 * that does not load when `exports` is null. Returns what it posted and a
 * way to send it rects.
 */
async function startWorker(exports) {
  const posted = [];
  // No module: the server says so, and the fallback compile from bytes gets no further.
  globalThis.fetch = async () => new Response(null, { status: exports === null ? 404 : 200 });
  WebAssembly.instantiateStreaming = async () => {
    if (exports === null) throw new TypeError('HTTP status code is not ok');
    return { instance: { exports } };
  };
  globalThis.postMessage = (message, transfer = []) => posted.push({ message, transfer });
  await import(`${pathToFileURL(workerFile)}?${++loads}`);
  const receive = globalThis.onmessage;
  await new Promise((done) => setImmediate(done));
  let frameId = 0;
  /** Sends one rect whose data starts with `mode`. */
  const send = (mode, { codec = 3, resetContext = false, endOfFrame = true, sameFrame = false } = {}) => {
    if (!sameFrame) frameId++;
    const buffer = Uint8Array.of(0xff, mode, 0xff).buffer;
    receive({ data: { frameId, x: 2, y: 3, width: 1, height: 1, codec, resetContext, endOfFrame, buffer, offset: 1, length: 1 } });
  };
  return { posted, send, answers: () => posted.map(({ message }) => summary(message)) };
}

/** A posted message in brief: its kind and frame, and what it says. */
function summary(message) {
  switch (message.kind) {
    case 'ops':
      return [message.kind, message.frameId, [...new Uint32Array(message.ops)]];
    case 'rect':
      return [message.kind, message.frameId, [message.x, message.y, message.width, message.height], new Uint8Array(message.rgba)[0]];
    case 'corrupt':
    case 'error':
      return [message.kind, message.frameId ?? null, message.message];
    default:
      return [message.kind, message.frameId ?? null];
  }
}

test('session frames decode to operations, other codecs to pixels; each buffer is transferred', async () => {
  const { exports, calls } = standIn();
  const { posted, send, answers } = await startWorker(exports);
  send(OK, { resetContext: true, endOfFrame: false });
  send(OK, { sameFrame: true });
  send(7, { codec: 2 });
  assert.deepEqual(answers(), [
    ['ready', null],
    ['ops', 1, COPY_OP],
    ['ops', 1, COPY_OP],
    ['rect', 2, [2, 3, 1, 1], 7],
  ]);
  assert.deepEqual(calls, [[3, 1], [3, 0], [2, 0]]);
  assert.equal(posted[1].message.endOfFrame, false);
  assert.equal(posted[1].message.resetContext, true);
  assert.deepEqual(posted.slice(1).map(({ message, transfer }) => transfer[0] === (message.ops ?? message.rgba)), [true, true, true]);
});

test('a rect that does not decode is corrupt, the rects after it skipped until a keyframe, which decodes', async () => {
  const { exports, calls } = standIn();
  const { posted, send, answers } = await startWorker(exports);
  send(OK, { resetContext: true });
  send(BAD, { endOfFrame: false });
  send(OK, { sameFrame: true });
  send(OK);
  send(OK, { resetContext: true });
  send(OK);
  assert.deepEqual(answers().slice(1), [
    ['ops', 1, COPY_OP],
    ['corrupt', 2, 'cannot decode frame 2 (session stream): zstd: corrupt block'],
    ['skipped', 2],
    ['skipped', 3],
    ['ops', 4, COPY_OP],
    ['ops', 5, COPY_OP],
  ]);
  assert.deepEqual(posted[2].message, { kind: 'corrupt', frameId: 2, endOfFrame: false, resetContext: false, message: 'cannot decode frame 2 (session stream): zstd: corrupt block' });
  assert.deepEqual(posted[3].message, { kind: 'skipped', frameId: 2, endOfFrame: true });
  assert.equal(calls.length, 4, 'skipped rects are not decoded');
});

test('operations out of shape are corrupt too, and a rect of another codec says where it was', async () => {
  const { exports } = standIn();
  const { send, answers } = await startWorker(exports);
  send(BAD_OPS);
  send(BAD, { codec: 2, resetContext: true });
  assert.deepEqual(answers().slice(1), [
    ['corrupt', 1, 'cannot decode frame 1 (session stream): frame operations truncated at offset 0: the operation kind needs 4 bytes, 3 left'],
    ['corrupt', 2, 'cannot decode frame 2 (1x1 at 2,3): bad QOI'],
  ]);
});

test('three keyframes in a row that do not decode stop the decoder for good', async () => {
  const { exports, calls } = standIn();
  const { send, answers } = await startWorker(exports);
  send(BAD);
  send(BAD, { resetContext: true });
  send(BAD, { resetContext: true });
  send(OK);
  send(BAD, { resetContext: true });
  send(OK, { resetContext: true });
  assert.deepEqual(answers().slice(1), [
    ['corrupt', 1, 'cannot decode frame 1 (session stream): zstd: corrupt block'],
    ['corrupt', 2, 'cannot decode frame 2 (session stream): zstd: corrupt block'],
    ['corrupt', 3, 'cannot decode frame 3 (session stream): zstd: corrupt block'],
    ['skipped', 4],
    ['error', null, 'cannot decode frame 5 (session stream): zstd: corrupt block (3 keyframes in a row did not decode)'],
  ]);
  assert.equal(calls.length, 4, 'nothing is decoded after');
});

test('a keyframe that decodes starts the count of failed ones again', async () => {
  const { exports } = standIn();
  const { send, answers } = await startWorker(exports);
  for (const mode of [BAD, BAD, OK, BAD, BAD]) send(mode, { resetContext: true });
  assert.deepEqual(answers().slice(1).map(([kind]) => kind), ['corrupt', 'corrupt', 'ops', 'corrupt', 'corrupt']);
});

test('a trap stops the decoder for good: its memory is in no known state', async () => {
  const { exports } = standIn();
  const { send, answers } = await startWorker(exports);
  send(TRAP);
  send(OK, { resetContext: true });
  assert.deepEqual(answers().slice(1), [['error', null, 'cannot decode frame 1 (session stream): unreachable']]);
});

test('a module that does not load stops the decoder for good', async () => {
  const { send, answers } = await startWorker(null);
  send(OK, { resetContext: true });
  assert.deepEqual(answers(), [['error', null, 'cannot load the frame decoder /qoiz.wasm: fetching /qoiz.wasm: HTTP 404']]);
});

after(() => rmSync(dir, { recursive: true }));
