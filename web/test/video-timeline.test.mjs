// When an export samples the recorded screen (src/video-timeline.ts): a
// constant rate from 0 and a last frame at the recording's end, each frame
// taken before the first record after its moment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'rolldown/experimental';

const source = join(import.meta.dirname, '../src/video-timeline.ts');
const { code, errors } = transformSync(source, readFileSync(source, 'utf8'), { lang: 'ts' });
assert.deepEqual(errors, []);
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
writeFileSync(join(dir, 'video-timeline.mjs'), code);
const { VideoTimeline } = await import(pathToFileURL(join(dir, 'video-timeline.mjs')));
rmSync(dir, { recursive: true });

const times = (frames) => frames.map((frame) => frame.timestampUs);

test('frames at a constant rate from 0, then one at the end: the video lasts as long as the recording', () => {
  const timeline = new VideoTimeline(1_000, 15);
  const frames = timeline.rest();
  assert.equal(timeline.count, 16);
  assert.deepEqual(frames.map((frame) => frame.index), [...Array(16).keys()]);
  assert.deepEqual(times(frames).slice(0, 4), [0, 66_000, 133_000, 200_000]);
  assert.deepEqual(frames.at(-2), { index: 14, atMs: 14_000 / 15, timestampUs: 933_000 });
  assert.deepEqual(frames.at(-1), { index: 15, atMs: 1_000, timestampUs: 1_000_000 });
  assert.deepEqual(timeline.rest(), [], 'each frame is sampled once');
});

test('the last frame at the end follows the constant rate however the duration falls', () => {
  // Between two ticks, and a millisecond past one: the end still comes after the last tick.
  for (const [durationMs, fps, count, beforeEnd] of [[1_010, 15, 17, 1_000_000], [1_001, 10, 12, 1_000_000], [1_000, 10, 11, 900_000]]) {
    const frames = new VideoTimeline(durationMs, fps).rest();
    assert.equal(frames.length, count, `${durationMs} ms at ${fps} fps`);
    assert.equal(frames.at(-2).timestampUs, beforeEnd);
    assert.equal(frames.at(-1).timestampUs, durationMs * 1000);
  }
});

test('timestamps are whole milliseconds, as WebM keeps them, and rise strictly', () => {
  // 67 ms at 15 fps: a tick at 66.67 ms, which rounds to the end's 67 ms unless cut down.
  for (const durationMs of [1, 66, 67, 999, 1_001, 12_345]) {
    const us = times(new VideoTimeline(durationMs, 15).rest());
    assert.ok(us.every((t) => t % 1000 === 0), `${durationMs} ms: ${us.slice(-3)}`);
    // mediabunny rounds seconds to the nearest millisecond: the timestamps it writes are these.
    const ms = us.map((t) => Math.round((t / 1e6) * 1000));
    assert.deepEqual(ms, us.map((t) => t / 1000));
    assert.ok(ms.every((t, i) => i === 0 || t > ms[i - 1]), `${durationMs} ms: ${ms.slice(-3)}`);
    assert.equal(ms.at(-1), durationMs);
  }
});

test('a recording of no time is one frame', () => {
  assert.deepEqual(new VideoTimeline(0, 15).rest(), [{ index: 0, atMs: 0, timestampUs: 0 }]);
});

test('a frame shows the records up to and including its moment, as the player does there', () => {
  const timeline = new VideoTimeline(500, 10);
  // Records at 0 (screen size, first frame), 100 (exactly frame 1's moment), 101, 350, 500.
  assert.deepEqual(timeline.before(0), [], 'nothing is sampled before the records at 0 are applied');
  assert.deepEqual(timeline.before(0), []);
  assert.deepEqual(times(timeline.before(100)), [0], 'frame 1 waits for the record at its moment');
  assert.deepEqual(times(timeline.before(101)), [100_000]);
  assert.deepEqual(times(timeline.before(350)), [200_000, 300_000]);
  assert.deepEqual(times(timeline.before(500)), [400_000], 'the end frame shows the last record');
  assert.deepEqual(times(timeline.rest()), [500_000]);
});

test('records past the end (an index that says less) sample every frame before them', () => {
  const timeline = new VideoTimeline(200, 10);
  assert.deepEqual(times(timeline.before(900)), [0, 100_000, 200_000]);
  assert.deepEqual(timeline.rest(), []);
});
