// The picture (src/picture.ts) takes what the decoder worker makes of each
// rect and paints a frame only when it is whole: rects with putImageData, a
// session frame's operations in their order, a copy as the canvas drawn on
// itself. A frame with a piece that did not decode ends without a pixel
// painted, and says so. The canvas here records what it is told to do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'rolldown';

const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
const { output } = await build({ input: join(import.meta.dirname, '../src/picture.ts'), write: false, logLevel: 'silent' });
writeFileSync(join(dir, 'picture.mjs'), output[0].code);
const { Picture } = await import(pathToFileURL(join(dir, 'picture.mjs')));
rmSync(dir, { recursive: true });

// Node has no ImageData; this one checks what a browser's constructor would.
globalThis.ImageData = class {
  constructor(data, width, height) {
    assert.ok(data instanceof Uint8ClampedArray);
    assert.equal(data.length, width * height * 4, 'the pixels fill the region');
    Object.assign(this, { data, width, height });
  }
};

/** A canvas whose 2D context lists the drawing it is asked for. */
function recordingCanvas() {
  const drawn = [];
  const canvas = { width: 0, height: 0, drawn };
  const context = {
    putImageData: (image, x, y) => drawn.push(['put', x, y, image.width, image.height, image.data[0]]),
    drawImage: (source, ...box) => {
      assert.equal(source, canvas, 'a copy reads the picture itself');
      drawn.push(['copy', ...box]);
    },
    fillRect: (...box) => drawn.push(['fill', ...box]),
  };
  canvas.getContext = (kind, options) => {
    assert.deepEqual([kind, options], ['2d', { alpha: false }]);
    return context;
  };
  return canvas;
}

/** A decoded rect, its pixels all `value`. */
const rect = (frameId, x, y, width, height, value, endOfFrame = true) => ({
  kind: 'rect', frameId, endOfFrame, resetContext: false, x, y, width, height, rgba: new Uint8Array(width * height * 4).fill(value).buffer,
});
/** Decoded operations, laid out as the wasm decoder writes them: a header of u32s, a paint's pixels (all `value`) after it. */
const ops = (frameId, list, endOfFrame = true, resetContext = false) => {
  const bytes = list.flatMap((op) => {
    const header = op.kind === 'paint' ? [0, op.x, op.y, op.width, op.height] : [1, op.x, op.y, op.width, op.height, op.srcX, op.srcY];
    const pixels = op.kind === 'paint' ? new Array(op.width * op.height * 4).fill(op.value) : [];
    return [...new Uint8Array(Uint32Array.from(header).buffer), ...pixels];
  });
  return { kind: 'ops', frameId, endOfFrame, resetContext, ops: Uint8Array.from(bytes).buffer };
};
const paintOp = (x, y, width, height, value) => ({ kind: 'paint', x, y, width, height, value });
const copyOp = (x, y, width, height, srcX, srcY) => ({ kind: 'copy', x, y, width, height, srcX, srcY });
const corrupt = (frameId, endOfFrame, resetContext = false) => ({ kind: 'corrupt', frameId, endOfFrame, resetContext, message: 'bad zstd' });
const skipped = (frameId, endOfFrame) => ({ kind: 'skipped', frameId, endOfFrame });

function picture() {
  const canvas = recordingCanvas();
  const made = new Picture(canvas);
  made.setSize(64, 48);
  return { picture: made, drawn: canvas.drawn };
}

test('a frame’s rects are held until its last, then painted in their order', () => {
  const { picture: shown, drawn } = picture();
  assert.equal(shown.paint(rect(1, 0, 0, 4, 2, 10, false)), 'pending');
  assert.equal(shown.paint(rect(1, 8, 8, 1, 1, 20, false)), 'pending');
  assert.deepEqual(drawn, [], 'nothing shows half-drawn');
  assert.equal(shown.paint(rect(1, 2, 3, 2, 2, 30)), 'painted');
  assert.deepEqual(drawn, [
    ['put', 0, 0, 4, 2, 10],
    ['put', 8, 8, 1, 1, 20],
    ['put', 2, 3, 2, 2, 30],
  ]);
});

test('a session frame’s operations apply in order: paints put, copies draw the canvas on itself', () => {
  const { picture: shown, drawn } = picture();
  // A scroll by 8 rows, then the rows it uncovered.
  const outcome = shown.paint(ops(5, [copyOp(0, 0, 64, 40, 0, 8), paintOp(0, 40, 64, 8, 77), paintOp(3, 3, 1, 1, 9)], true, true));
  assert.equal(outcome, 'painted');
  assert.deepEqual(drawn, [
    ['copy', 0, 8, 64, 40, 0, 0, 64, 40],
    ['put', 0, 40, 64, 8, 77],
    ['put', 3, 3, 1, 1, 9],
  ]);
});

test('a large session frame in parts is painted whole, the parts in their order', () => {
  const { picture: shown, drawn } = picture();
  assert.equal(shown.paint(ops(2, [paintOp(0, 0, 2, 2, 1)], false)), 'pending');
  assert.equal(shown.paint(ops(2, [copyOp(10, 10, 2, 2, 0, 0)], false)), 'pending');
  assert.deepEqual(drawn, []);
  assert.equal(shown.paint(ops(2, [], true)), 'painted', 'a part may hold no operation');
  assert.deepEqual(drawn, [
    ['put', 0, 0, 2, 2, 1],
    ['copy', 0, 0, 2, 2, 10, 10, 2, 2],
  ]);
});

test('a frame with no operations is painted: it ends, and nothing changes', () => {
  const { picture: shown, drawn } = picture();
  assert.equal(shown.paint(ops(3, [])), 'painted');
  assert.deepEqual(drawn, []);
});

test('a frame with a piece that did not decode ends dropped, with none of it painted', () => {
  const { picture: shown, drawn } = picture();
  assert.equal(shown.paint(rect(1, 0, 0, 1, 1, 5, false)), 'pending');
  assert.equal(shown.paint(corrupt(1, false)), 'pending');
  assert.equal(shown.paint(skipped(1, true)), 'dropped');
  assert.equal(shown.paint(skipped(2, true)), 'dropped', 'a frame skipped whole');
  assert.equal(shown.paint(corrupt(3, true)), 'dropped', 'a frame that is one corrupt piece');
  assert.deepEqual(drawn, []);
  // The keyframe after them paints as any frame does.
  assert.equal(shown.paint(ops(4, [paintOp(0, 0, 64, 48, 8)], true, true)), 'painted');
  assert.deepEqual(drawn, [['put', 0, 0, 64, 48, 8]]);
});

test('a new size forgets the frame being received, corrupt or not', () => {
  const { picture: shown, drawn } = picture();
  shown.paint(rect(1, 0, 0, 1, 1, 5, false));
  shown.setSize(32, 32);
  assert.equal(shown.paint(rect(2, 1, 1, 1, 1, 6)), 'painted');
  shown.paint(corrupt(3, false));
  shown.setSize(16, 16);
  assert.equal(shown.paint(rect(4, 2, 2, 1, 1, 7)), 'painted');
  assert.deepEqual(drawn, [
    ['put', 1, 1, 1, 1, 6],
    ['put', 2, 2, 1, 1, 7],
  ]);
});
