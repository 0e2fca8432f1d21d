// The recording file (src/recording-format.ts, docs/recording.md): a header,
// records each with its CRC-32, a trailer with the index. Each test builds a
// small file here, byte by byte, and checks what the player's reader makes
// of it, whole, in pieces, damaged and cut short.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { transformSync } from 'rolldown/experimental';

const source = join(import.meta.dirname, '../src/recording-format.ts');
const { code, errors } = transformSync(source, readFileSync(source, 'utf8'), { lang: 'ts' });
assert.deepEqual(errors, []);
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
writeFileSync(join(dir, 'recording-format.mjs'), code);
const { readHeader, checkSessionId, readRecord, readTrailer, readIndex, RecordParser, RecordingFormatError, crc32, MAX_BODY_LEN } = await import(
  pathToFileURL(join(dir, 'recording-format.mjs'))
);
rmSync(dir, { recursive: true });

const ascii = (text) => new TextEncoder().encode(text);
const u16 = (n) => [n >> 8, n & 0xff];
const u32 = (n) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const concat = (...parts) => Uint8Array.from(parts.flatMap((part) => [...part]));

const META = { session_id: '0b5a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d', user: 'alice', login: 'ubuntu', desktop: 'web-1', desktop_kind: 'linux', cluster: 'main', start: '2026-01-15T09:00:00Z' };

function header({ magic = 'ORIELREC', version = 1, meta = JSON.stringify(META), metaLen } = {}) {
  const metaBytes = ascii(meta);
  return concat(ascii(magic), u16(version), u16(0), u32(metaLen ?? metaBytes.length), metaBytes);
}

/** One record: body_len, then delay_ms, source and the envelope, then the CRC-32 of those (zlib's, not the module's). */
function record(delayMs, source, envelope) {
  const body = concat(u32(delayMs), [source], envelope);
  return concat(u32(body.length), body, u32(zlibCrc32(body)));
}

function trailer(index) {
  const json = ascii(JSON.stringify(index));
  return concat(json, u32(json.length), u32(zlibCrc32(json)), ascii('ORIELEND'));
}

/**
 * A small recording: ServerHello-like, a cursor, three frames and a mouse
 * move (the envelopes are stand-in bytes: this layer does not read them).
 */
function recording() {
  const head = header();
  const records = [
    record(0, 0, [0x12, 0x04, 0x08, 0x80, 0x05, 0x10]),
    record(5, 0, Array.from({ length: 300 }, (_, i) => i & 0xff)),
    record(40, 0, [0xa2, 0x06, 0x01, 0x02]),
    record(45, 1, [0x3a, 0x04, 0x08, 0x0a, 0x10, 0x14]),
    record(1040, 0, [0xa2, 0x06, 0x03]),
    record(1041, 0, []),
  ];
  const offsets = [];
  let at = head.length;
  for (const r of records) {
    offsets.push(at);
    at += r.length;
  }
  const index = { duration_ms: 1100, records: records.length, records_end: at, keyframes: [{ t: 40, offset: offsets[2], context: [offsets[0], offsets[1]] }] };
  return { bytes: concat(head, ...records, trailer(index)), head, records, offsets, recordsEnd: at, index };
}

test('CRC-32 is the IEEE one zlib computes', () => {
  assert.equal(crc32(ascii('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  const bytes = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff);
  assert.equal(crc32(bytes), zlibCrc32(bytes));
});

test('the header gives the meta and where the records start', () => {
  const { bytes, head } = recording();
  const read = readHeader(bytes);
  assert.deepEqual(read, { version: 1, meta: META, recordsStart: head.length });
  assert.deepEqual(readHeader(bytes.subarray(0, 10)), { needed: 16 }, 'the fixed part first');
  assert.deepEqual(readHeader(bytes.subarray(0, 20)), { needed: head.length }, 'then the meta');
});

test('a header that is not version 1 of an Oriel recording is refused, saying why', () => {
  const refused = (bytes, message) => assert.throws(() => readHeader(bytes), (error) => error instanceof RecordingFormatError && message.test(error.message));
  refused(header({ magic: 'ORIELRUC' }), /not an Oriel recording: it does not start with ORIELREC/);
  refused(ascii('<html>'), /not an Oriel recording/, 'short, and not a recording: said at once');
  refused(header({ version: 2 }), /format version 2; this player reads version 1/);
  refused(header({ metaLen: 64 * 1024 + 1 }), /meta is 65537 bytes, over the limit of 65536/);
  refused(header({ meta: '{"user": ' }), /meta is not JSON/);
  refused(header({ meta: '[1, 2]' }), /meta is not a JSON object/);
});

test('the meta must name the session asked for, in any case; a meta without one is taken', () => {
  checkSessionId(META, META.session_id.toUpperCase());
  checkSessionId({ user: 'alice' }, META.session_id);
  assert.throws(
    () => checkSessionId(META, '1c6b2d3e-4f50-4b6c-9d7e-8f9a0b1c2d3e'),
    (error) => error instanceof RecordingFormatError && /recording of session 0b5a1c2d-.* not of 1c6b2d3e-/.test(error.message),
  );
});

test('a record gives its delay, source and envelope, and where the next starts', () => {
  const { bytes, offsets } = recording();
  const at = offsets[3];
  const read = readRecord(bytes.subarray(at), at);
  assert.equal(read.offset, at);
  assert.equal(read.end, offsets[4]);
  assert.equal(read.delayMs, 45);
  assert.equal(read.source, 1);
  assert.deepEqual([...read.envelope], [0x3a, 0x04, 0x08, 0x0a, 0x10, 0x14]);
  assert.deepEqual(readRecord(bytes.subarray(at, at + 2), at), { needed: 4 });
  assert.deepEqual(readRecord(bytes.subarray(at, at + 10), at), { needed: offsets[4] - at });
  const empty = readRecord(bytes.subarray(offsets[5]), offsets[5]);
  assert.equal(empty.envelope.length, 0, 'an empty envelope is a record too');
});

test('a flipped byte anywhere in a record is a CRC error naming its offset', () => {
  const { bytes, offsets } = recording();
  const at = offsets[1];
  const length = offsets[2] - at;
  // Every byte the checksum covers: delay, source, envelope, and the checksum itself.
  for (const i of [4, 7, 8, 9, 150, length - 5, length - 1]) {
    const damaged = bytes.slice(at, offsets[2]);
    damaged[i] ^= 0x01;
    assert.throws(
      () => readRecord(damaged, at),
      (error) => error instanceof RecordingFormatError && error.message.startsWith(`the record at offset ${at} is damaged: its CRC-32 is`),
      `byte ${i}`,
    );
  }
});

test('impossible lengths and sources are refused before anything is believed', () => {
  const refused = (bytes, message) => assert.throws(() => readRecord(bytes, 100), (error) => error instanceof RecordingFormatError && message.test(error.message));
  refused(Uint8Array.from(u32(4)), /record at offset 100 says its body is 4 bytes \(from 5 to 16777220\)/);
  refused(Uint8Array.from(u32(MAX_BODY_LEN + 1)), /says its body is 16777221 bytes/);
  assert.deepEqual(readRecord(Uint8Array.from(u32(MAX_BODY_LEN)), 100), { needed: MAX_BODY_LEN + 8 }, 'the largest frame the desktop sends');
  refused(record(1, 2, [1, 2, 3]), /record at offset 100 has source 2 \(0 or 1\)/);
});

test('records come out the same however the bytes are cut into pieces', () => {
  const { bytes, head, offsets, recordsEnd } = recording();
  const whole = new RecordParser(head.length, recordsEnd).push(bytes.subarray(head.length, recordsEnd));
  assert.deepEqual(whole.map((r) => r.offset), offsets);
  assert.deepEqual(whole.map((r) => [r.delayMs, r.source]), [[0, 0], [5, 0], [40, 0], [45, 1], [1040, 0], [1041, 0]]);

  for (const size of [1, 3, 7, 64, 1000]) {
    const parser = new RecordParser(head.length, recordsEnd);
    const found = [];
    for (let at = head.length; at < recordsEnd; at += size) {
      found.push(...parser.push(bytes.slice(at, Math.min(at + size, recordsEnd))));
      assert.equal(parser.position, Math.min(at + size, recordsEnd));
    }
    assert.equal(parser.done, true);
    parser.finish();
    assert.deepEqual(found.map((r) => [r.offset, r.delayMs, r.source, [...r.envelope]]), whole.map((r) => [r.offset, r.delayMs, r.source, [...r.envelope]]), `pieces of ${size}`);
  }
});

test('the parser says how much more the next record takes', () => {
  const { bytes, head, offsets, recordsEnd } = recording();
  const parser = new RecordParser(head.length, recordsEnd);
  assert.equal(parser.missing, 4, 'its length first');
  parser.push(bytes.subarray(offsets[0], offsets[1] + 6));
  assert.equal(parser.missing, offsets[2] - offsets[1] - 6, 'the rest of the 300-byte one');
  parser.push(bytes.subarray(offsets[1] + 6, recordsEnd));
  assert.equal(parser.missing, 0);
  assert.equal(parser.done, true);
});

test('a file cut short inside a record is refused as such', () => {
  const { bytes, head, offsets, recordsEnd } = recording();
  const parser = new RecordParser(head.length, recordsEnd);
  const records = parser.push(bytes.subarray(head.length, offsets[3] + 5));
  assert.equal(records.length, 3, 'every whole record before the cut');
  assert.throws(
    () => parser.finish(),
    (error) => error instanceof RecordingFormatError && error.message === `the recording ends at offset ${offsets[3] + 5}, inside the record at offset ${offsets[3]} (records end at ${recordsEnd})`,
  );
});

test('records never reach into the trailer', () => {
  const { bytes, head, offsets, recordsEnd } = recording();
  assert.throws(() => new RecordParser(head.length, recordsEnd).push(bytes.subarray(head.length, recordsEnd + 1)), /past the end of the records/);
  // An index that ends the records inside one: the record's own length says so.
  const short = new RecordParser(head.length, offsets[2] + 3);
  assert.throws(() => short.push(bytes.subarray(head.length, offsets[2] + 3)), new RegExp(`record at offset ${offsets[2]} \\(\\d+ bytes\\) runs past the end of the records at offset ${offsets[2] + 3}`));
});

test('the trailer gives the index, checked', () => {
  const { bytes, recordsEnd, offsets } = recording();
  assert.deepEqual(readTrailer(bytes.subarray(recordsEnd), recordsEnd), {
    durationMs: 1100,
    records: 6,
    recordsEnd,
    keyframes: [{ t: 40, offset: offsets[2], context: [offsets[0], offsets[1]] }],
  });
});

test('a damaged or missing trailer is refused, saying which', () => {
  const { bytes, recordsEnd, head } = recording();
  const tail = () => bytes.slice(recordsEnd);
  const refused = (trailerBytes, message, end = recordsEnd) =>
    assert.throws(() => readTrailer(trailerBytes, end), (error) => error instanceof RecordingFormatError && message.test(error.message));
  refused(bytes.subarray(recordsEnd, bytes.length - 3), /no trailer after offset \d+: it was cut short/);
  refused(new Uint8Array(0), /cut short/);
  const flipped = tail();
  flipped[2] ^= 0x20;
  refused(flipped, /the index is damaged: its CRC-32 is 0x[0-9a-f]{8}, its bytes give 0x[0-9a-f]{8}/);
  const longer = tail();
  longer.set(u32(longer.length), longer.length - 16);
  refused(longer, /the trailer says the index is \d+ bytes, but \d+ lie between the records and the trailer/);
  refused(tail(), /the index says the records end at offset \d+, the trailer starts at 17/, 17);
  refused(trailer({ duration_ms: 1, records: 0, records_end: head.length, keyframes: [] }).slice(0, -1), /cut short/);
});

test('an index that contradicts itself is refused', () => {
  const base = { duration_ms: 20000, records: 9, records_end: 5000 };
  const refused = (keyframes, message) =>
    assert.throws(() => readIndex({ ...base, keyframes }), (error) => error instanceof RecordingFormatError && message.test(error.message));
  refused([{ t: 10, offset: 900, context: [1000] }], /keyframe 0 points past its records/);
  refused([{ t: 10, offset: 5000, context: [] }], /keyframe 0 points past its records/);
  refused([{ t: 10, offset: 900, context: [] }, { t: 5, offset: 1900, context: [] }], /keyframes are out of order at keyframe 1/);
  refused([{ t: 10, offset: 900, context: [] }, { t: 20, offset: 900, context: [] }], /out of order at keyframe 1/);
  refused([{ t: -1, offset: 900, context: [] }], /the time of the index’s keyframe 0 is not a whole number/);
  refused([{ t: 1, offset: '900', context: [] }], /the offset of the index’s keyframe 0 is not a whole number/);
  assert.throws(() => readIndex({ ...base, keyframes: {} }), /the index’s keyframes is not a list/);
  assert.throws(() => readIndex(null), /the index is not a JSON object/);
  assert.throws(() => readIndex({ ...base, keyframes: [], duration_ms: 1.5 }), /duration_ms is not a whole number/);
});
