// Seek planning (src/recording-seek.ts, docs/recording.md "Seeking"): the
// last keyframe at or before the moment, its context records, and where to
// read from; checked on an index alone and on a recording built here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { crc32 } from 'node:zlib';
import { transformSync } from 'rolldown/experimental';

const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
async function load(name) {
  const source = join(import.meta.dirname, `../src/${name}.ts`);
  const { code, errors } = transformSync(source, readFileSync(source, 'utf8'), { lang: 'ts' });
  assert.deepEqual(errors, []);
  writeFileSync(join(dir, `${name}.mjs`), code);
  return import(pathToFileURL(join(dir, `${name}.mjs`)));
}
const { planSeek } = await load('recording-seek');
const { readRecord, RecordParser, readTrailer } = await load('recording-format');
rmSync(dir, { recursive: true });

const RECORDS_START = 120;
const index = {
  durationMs: 30_000,
  records: 400,
  recordsEnd: 50_000,
  keyframes: [
    { t: 1_000, offset: 500, context: [120, 180] },
    { t: 11_000, offset: 9_000, context: [120, 4_000, 180] },
    { t: 11_000, offset: 9_100, context: [120, 4_000, 180] },
    { t: 21_000, offset: 20_000, context: [120, 4_000, 15_000] },
  ],
};
const plan = (target) => planSeek(index, target, RECORDS_START);

test('the last keyframe at or before the moment, with its context in order', () => {
  assert.deepEqual(plan(1_000), { target: 1_000, context: [120, 180], from: 500, keyframe: 1_000 });
  assert.deepEqual(plan(10_999), { target: 10_999, context: [120, 180], from: 500, keyframe: 1_000 });
  assert.deepEqual(plan(11_000), { target: 11_000, context: [120, 4_000, 180], from: 9_100, keyframe: 11_000 }, 'the later of two at one time');
  assert.deepEqual(plan(25_000), { target: 25_000, context: [120, 4_000, 15_000], from: 20_000, keyframe: 21_000 });
});

test('going back plans the same as going forward: never from the start past a keyframe', () => {
  for (const target of [29_000, 3_000, 22_000, 12_000]) {
    const { from, keyframe } = plan(target);
    assert.ok(keyframe !== null && keyframe <= target && from > RECORDS_START, `${target}`);
  }
});

test('before the first keyframe the records are read from the first one', () => {
  assert.deepEqual(plan(0), { target: 0, context: [], from: RECORDS_START, keyframe: null });
  assert.deepEqual(plan(999), { target: 999, context: [], from: RECORDS_START, keyframe: null });
  assert.deepEqual(planSeek({ ...index, keyframes: [] }, 12_000, RECORDS_START), { target: 12_000, context: [], from: RECORDS_START, keyframe: null });
});

test('a moment outside the recording is its start or its end', () => {
  assert.equal(plan(-5).target, 0);
  assert.deepEqual(plan(99_000), { target: 30_000, context: [120, 4_000, 15_000], from: 20_000, keyframe: 21_000 });
});

// A recording as the desktop service writes one: records of stand-in envelopes
// tagged by kind, a keyframe every 10 s, and each keyframe's context.
const u32 = (n) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
function build() {
  const bytes = [...new TextEncoder().encode('ORIELREC'), 0, 1, 0, 0, ...u32(2), ...new TextEncoder().encode('{}')];
  const recordsStart = bytes.length;
  const records = [];
  const add = (t, source, kind) => {
    const body = [...u32(t), source, ...new TextEncoder().encode(kind)];
    records.push({ t, kind, offset: bytes.length });
    bytes.push(...u32(body.length), ...body, ...u32(crc32(Uint8Array.from(body))));
  };
  const keyframes = [];
  let hello, spec, cursor;
  add(0, 0, 'hello');
  hello = records.at(-1).offset;
  add(2, 0, 'cursor');
  cursor = records.at(-1).offset;
  for (let t = 10; t < 35_000; t += 250) {
    if (t === 15_010) {
      add(t, 1, 'spec');
      spec = records.at(-1).offset;
    }
    if (t % 10_000 === 10) {
      keyframes.push({ t, offset: bytes.length, context: [hello, spec, cursor].filter((at) => at !== undefined) });
      add(t, 0, 'keyframe');
    } else {
      add(t, 0, 'frame');
    }
    add(t + 3, 1, 'move');
    if (t === 22_010) {
      add(t + 4, 0, 'cursor');
      cursor = records.at(-1).offset;
    }
  }
  const recordsEnd = bytes.length;
  const json = new TextEncoder().encode(JSON.stringify({ duration_ms: 35_000, records: records.length, records_end: recordsEnd, keyframes }));
  bytes.push(...json, ...u32(json.length), ...u32(crc32(json)), ...new TextEncoder().encode('ORIELEND'));
  return { bytes: Uint8Array.from(bytes), recordsEnd, records, recordsStart };
}

test('on a real file, a plan reads the keyframe first and the context names the latest screen and cursor', () => {
  const file = build();
  const fileIndex = readTrailer(file.bytes.subarray(file.recordsEnd), file.recordsEnd);
  const kind = (record) => new TextDecoder().decode(record.envelope);
  for (const target of [0, 9_000, 10_010, 14_000, 16_000, 23_500, 31_000]) {
    const { from, context, keyframe } = planSeek(fileIndex, target, file.recordsStart);
    const applied = context.map((offset) => readRecord(file.bytes.subarray(offset), offset));
    const parser = new RecordParser(from, file.recordsEnd);
    const read = parser.push(file.bytes.subarray(from, file.recordsEnd));
    if (keyframe === null) {
      assert.equal(kind(read[0]), 'hello', `${target}: from the start`);
      continue;
    }
    assert.equal(kind(read[0]), 'keyframe', `${target}`);
    assert.ok(read[0].delayMs <= target && target - read[0].delayMs < 10_000, `${target}: at most 10 s of frames to decode`);
    const wanted = ['hello', ...(keyframe > 15_010 ? ['spec'] : []), 'cursor'];
    assert.deepEqual(applied.map(kind), wanted, `${target}`);
    // The context's cursor is the last one before the keyframe.
    const cursors = file.records.filter((r) => r.kind === 'cursor' && r.offset < from);
    assert.equal(applied.at(-1).offset, cursors.at(-1).offset, `${target}`);
  }
});
