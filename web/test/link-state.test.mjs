// What the status bar says of the link (src/link-state.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'rolldown/experimental';

const source = join(import.meta.dirname, '../src/link-state.ts');
const { code, errors } = transformSync(source, readFileSync(source, 'utf8'), { lang: 'ts' });
assert.deepEqual(errors, []);
const dir = mkdtempSync(join(tmpdir(), 'oriel-link-state-'));
const file = join(dir, 'link-state.mjs');
writeFileSync(file, code);
const { formatBandwidth, linkState } = await import(pathToFileURL(file).href);
rmSync(dir, { recursive: true });

test('bandwidths read as people say them', () => {
  assert.equal(formatBandwidth(950), '950 kbit/s');
  assert.equal(formatBandwidth(1000), '1.0 Mbit/s');
  assert.equal(formatBandwidth(1540), '1.5 Mbit/s');
  assert.equal(formatBandwidth(42_400), '42 Mbit/s');
});

test('a slow link says so with its bandwidth, a good one briefly', () => {
  const slow = linkState({ bandwidthKbps: 1000, delayMs: 480, slow: true });
  assert.equal(slow.state, 'slow');
  assert.equal(slow.text, 'slow link · 1.0 Mbit/s');
  assert.match(slow.title, /up to 1\.0 Mbit\/s.*480 ms.*fewer, fresher frames/);
  const good = linkState({ bandwidthKbps: 0, delayMs: 3, slow: false });
  assert.deepEqual([good.state, good.text], ['good', 'link good']);
  assert.doesNotMatch(good.title, /up to|slow/, 'no bandwidth known yet, nothing slow');
  assert.equal(linkState({ bandwidthKbps: 0, delayMs: 900, slow: true }).text, 'slow link');
});
