// The operations a CODEC_QOIZ_SESSION frame decodes to (src/frame-ops.ts):
// each test lays out the wasm decoder's output here, u32 by u32, and checks
// what the picture would be told to do with it, and that a list cut short
// or out of shape is refused, saying where.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'rolldown/experimental';

const source = join(import.meta.dirname, '../src/frame-ops.ts');
const { code, errors } = transformSync(source, readFileSync(source, 'utf8'), { lang: 'ts' });
assert.deepEqual(errors, []);
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
writeFileSync(join(dir, 'frame-ops.mjs'), code);
const { parseFrameOps } = await import(pathToFileURL(join(dir, 'frame-ops.mjs')));
rmSync(dir, { recursive: true });

/** Little-endian u32s, as the decoder writes them. */
const u32 = (...values) => [...new Uint8Array(Uint32Array.from(values).buffer)];
const paint = (x, y, width, height, pixels = solid(width * height, 7)) => [...u32(0, x, y, width, height), ...pixels];
const copy = (x, y, width, height, srcX, srcY) => u32(1, x, y, width, height, srcX, srcY);
/** `count` RGBA pixels, each (value, value + 1, value + 2, 255). */
const solid = (count, value) => Array.from({ length: count }, () => [value, value + 1, value + 2, 255]).flat();
const ops = (...parts) => Uint8Array.from(parts.flat()).buffer;

test('no operations is an empty frame', () => {
  assert.deepEqual(parseFrameOps(new ArrayBuffer(0)), []);
});

test('a paint: its region, and its pixels as a view into the buffer', () => {
  const buffer = ops(paint(3, 4, 2, 1, [1, 2, 3, 255, 4, 5, 6, 255]));
  const [op, ...more] = parseFrameOps(buffer);
  assert.equal(more.length, 0);
  assert.deepEqual({ ...op, rgba: [...op.rgba] }, { kind: 'paint', x: 3, y: 4, width: 2, height: 1, rgba: [1, 2, 3, 255, 4, 5, 6, 255] });
  assert.ok(op.rgba instanceof Uint8ClampedArray);
  assert.equal(op.rgba.buffer, buffer, 'not a copy');
  assert.equal(op.rgba.byteOffset, 20);
});

test('a copy: its region and where it comes from', () => {
  assert.deepEqual(parseFrameOps(ops(copy(0, 10, 640, 470, 0, 20))), [{ kind: 'copy', x: 0, y: 10, width: 640, height: 470, srcX: 0, srcY: 20 }]);
});

test('operations come back in their order, each where the one before ends', () => {
  const parsed = parseFrameOps(ops(copy(0, 0, 100, 90, 0, 10), paint(0, 90, 100, 10, solid(1000, 40)), paint(5, 5, 1, 1, solid(1, 90)), copy(1, 2, 3, 4, 5, 6)));
  assert.deepEqual(parsed.map((op) => [op.kind, op.x, op.y, op.width, op.height]), [
    ['copy', 0, 0, 100, 90],
    ['paint', 0, 90, 100, 10],
    ['paint', 5, 5, 1, 1],
    ['copy', 1, 2, 3, 4],
  ]);
  assert.equal(parsed[1].rgba.byteOffset, 28 + 20);
  assert.equal(parsed[1].rgba.length, 4000);
  assert.deepEqual([...parsed[2].rgba], [90, 91, 92, 255]);
  assert.equal(parsed[2].rgba.byteOffset, 28 + 20 + 4000 + 20);
});

test('large fields are read unsigned', () => {
  const [op] = parseFrameOps(ops(copy(0x80000000, 0, 1, 1, 0xffffffff, 0)));
  assert.equal(op.x, 0x80000000);
  assert.equal(op.srcX, 0xffffffff);
});

test('an unknown kind is refused, with its offset', () => {
  assert.throws(() => parseFrameOps(ops(u32(2, 0, 0, 1, 1))), { message: 'frame operation at offset 0: unknown kind 2' });
  assert.throws(() => parseFrameOps(ops(copy(0, 0, 1, 1, 0, 0), u32(7))), { message: 'frame operation at offset 28: unknown kind 7' });
});

test('a header cut short is refused, with its offset', () => {
  assert.throws(() => parseFrameOps(ops([0, 0])), { message: 'frame operations truncated at offset 0: the operation kind needs 4 bytes, 2 left' });
  assert.throws(() => parseFrameOps(ops(u32(0, 1, 2, 3))), { message: 'frame operations truncated at offset 0: the paint header needs 20 bytes, 16 left' });
  assert.throws(() => parseFrameOps(ops(paint(0, 0, 1, 1), u32(1, 0, 0, 1, 1, 0))), {
    message: 'frame operations truncated at offset 24: the copy header needs 28 bytes, 24 left',
  });
});

test('pixels cut short are refused, with the paint’s offset', () => {
  const short = paint(0, 0, 2, 2).slice(0, -1);
  assert.throws(() => parseFrameOps(ops(copy(0, 0, 1, 1, 0, 0), short)), {
    message: 'frame operations truncated at offset 28: the 2x2 paint needs 36 bytes, 35 left',
  });
  // A size whose pixels no buffer could hold.
  assert.throws(() => parseFrameOps(ops(u32(0, 0, 0, 0xffffffff, 0xffffffff))), /truncated at offset 0: the 4294967295x4294967295 paint needs/);
});

test('an empty region is refused, with its offset', () => {
  assert.throws(() => parseFrameOps(ops(u32(0, 0, 0, 0, 1))), { message: 'paint at offset 0: empty region 0x1' });
  assert.throws(() => parseFrameOps(ops(paint(0, 0, 1, 1), copy(0, 0, 5, 0, 1, 1))), { message: 'copy at offset 24: empty region 5x0' });
});
