// TDPB framing and messages (src/protocol.ts), bundled with the codec
// generated from ../proto/tdpb.proto (`npm run proto` makes it; the build and
// the type check run it first): per-session MFA's Mfa message both ways, byte
// for byte against what the proxy (prost) writes and reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'rolldown';

const generated = join(import.meta.dirname, '../src/generated/tdpb.js');
assert.ok(existsSync(generated), 'src/generated/tdpb.js is missing: run `npm run proto` first');
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
const { output } = await build({ input: join(import.meta.dirname, '../src/protocol.ts'), write: false, logLevel: 'silent' });
writeFileSync(join(dir, 'protocol.mjs'), output[0].code);
const { encodeFrame, decodeFrame, decodeRecordedEnvelope, ProtocolError } = await import(pathToFileURL(join(dir, 'protocol.mjs')));
rmSync(dir, { recursive: true });

const JSON_TEXT = '{"publicKey":{}}';
// A challenge as the proxy frames it.
const CHALLENGE = [
  0x00, 0x00, 0x00, 0x1e, // frame length: 30 bytes of envelope
  0x72, 0x1c, // Envelope field 14 (mfa), length-delimited, 28 bytes
  0x0a, 0x08, ...Buffer.from('webauthn'), // Mfa.type (field 1), 8 bytes
  0x12, 0x10, ...Buffer.from(JSON_TEXT), // Mfa.json (field 2), 16 bytes
];

const arrayBuffer = (bytes) => new Uint8Array(bytes).buffer;

test("the proxy's Mfa challenge decodes to its type and JSON", () => {
  const message = decodeFrame(arrayBuffer(CHALLENGE));
  assert.equal(message.kind, 'mfa');
  assert.equal(message.value.type, 'webauthn');
  assert.equal(message.value.json, JSON_TEXT);
});

test("the browser's Mfa answer is the same bytes, and round-trips", () => {
  const frame = encodeFrame({ mfa: { type: 'webauthn', json: JSON_TEXT } });
  assert.deepEqual([...frame], CHALLENGE);
  const answer = JSON.stringify({ id: 'BAUG', rawId: 'BAUG', type: 'public-key', response: { signature: 'é✓'.repeat(500) } });
  const decoded = decodeFrame(encodeFrame({ mfa: { type: 'webauthn', json: answer } }).buffer);
  assert.deepEqual({ kind: decoded.kind, type: decoded.value.type, json: decoded.value.json }, { kind: 'mfa', type: 'webauthn', json: answer });
});

test('the empty answer (cancel) keeps its type and has empty JSON', () => {
  const frame = encodeFrame({ mfa: { type: 'webauthn', json: '' } });
  // As prost writes it: proto3 leaves the empty string out.
  assert.deepEqual([...frame], [
    0x00, 0x00, 0x00, 0x0c, // frame length: 12
    0x72, 0x0a, // Envelope field 14 (mfa), 10 bytes
    0x0a, 0x08, ...Buffer.from('webauthn'), // Mfa.type; no Mfa.json
  ]);
  const decoded = decodeFrame(frame.buffer);
  assert.equal(decoded.kind, 'mfa');
  assert.equal(decoded.value.json, '');
  // Written out, it reads the same.
  assert.equal(decodeFrame(arrayBuffer([0x00, 0x00, 0x00, 0x0e, 0x72, 0x0c, 0x0a, 0x08, ...Buffer.from('webauthn'), 0x12, 0x00])).value.json, '');
});

test('a recording never plays an Mfa message, and a cut challenge is a protocol error', () => {
  assert.equal(decodeRecordedEnvelope(new Uint8Array(CHALLENGE.slice(4))), null);
  assert.throws(() => decodeFrame(arrayBuffer([0x00, 0x00, 0x00, 0x1d, ...CHALLENGE.slice(4, -1)])), ProtocolError);
  assert.throws(() => decodeFrame(arrayBuffer(CHALLENGE.slice(0, -1))), ProtocolError, 'the length prefix says more');
});

test("the desktop's LinkEstimate decodes from what the service (prost) writes; recordings never hold one", () => {
  const frame = [
    0x00, 0x00, 0x00, 0x0b, // frame length: 11 bytes of envelope
    0xea, 0x06, 0x08, // Envelope field 109 (link_estimate), 8 bytes
    0x08, 0xe8, 0x07, // bandwidth_kbps = 1000
    0x10, 0xe0, 0x03, // delay_ms = 480
    0x18, 0x01, // slow = true
  ];
  const message = decodeFrame(arrayBuffer(frame));
  assert.equal(message.kind, 'linkEstimate');
  assert.deepEqual([message.value.bandwidthKbps, message.value.delayMs, message.value.slow], [1000, 480, true]);
  const fast = decodeFrame(arrayBuffer([0x00, 0x00, 0x00, 0x05, 0xea, 0x06, 0x02, 0x10, 0x03]));
  assert.deepEqual([fast.value.bandwidthKbps, fast.value.delayMs, fast.value.slow], [0, 3, false], 'absent fields read as their defaults');
  assert.equal(decodeRecordedEnvelope(new Uint8Array(frame.slice(4))), null);
});
