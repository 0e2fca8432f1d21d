// A file written at positions into a Blob (src/blob-file.ts), as the WebM
// muxer (mediabunny's StreamTarget) writes a file: in order, then back over
// its header.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'rolldown/experimental';

const source = join(import.meta.dirname, '../src/blob-file.ts');
const { code, errors } = transformSync(source, readFileSync(source, 'utf8'), { lang: 'ts' });
assert.deepEqual(errors, []);
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
writeFileSync(join(dir, 'blob-file.mjs'), code);
const { BlobFile } = await import(pathToFileURL(join(dir, 'blob-file.mjs')));
rmSync(dir, { recursive: true });

const ascii = (text) => new TextEncoder().encode(text);
const text = async (blob) => new TextDecoder().decode(await blob.arrayBuffer());

test('writes at the end make the file in order', async () => {
  const file = new BlobFile();
  file.write(ascii('header'), 0);
  file.write(ascii('-cluster'), 6);
  assert.equal(file.size, 14);
  const blob = file.blob('video/webm');
  assert.equal(blob.type, 'video/webm');
  assert.equal(await text(blob), 'header-cluster');
});

test('writes back over what was written replace those bytes, in the order they came', async () => {
  const file = new BlobFile();
  file.write(ascii('DUR=????;SIZE=??;'), 0);
  file.write(ascii('frames...'), 17);
  file.write(ascii('1234'), 4);
  file.write(ascii('99'), 14);
  file.write(ascii('5678'), 4);
  assert.equal(await text(file.blob('video/webm')), 'DUR=5678;SIZE=99;frames...');
});

test('a write over the end replaces what it covers and makes the file longer', async () => {
  const file = new BlobFile();
  file.write(ascii('abcdef'), 0);
  file.write(ascii('XYZ123'), 3);
  assert.equal(file.size, 9);
  assert.equal(await text(file.blob('video/webm')), 'abcXYZ123');
});

test('the bytes are kept: the writer may reuse its buffer', async () => {
  const file = new BlobFile();
  const buffer = ascii('first');
  file.write(buffer, 0);
  buffer.set(ascii('XXXXX'));
  file.write(ascii('!!'), 1);
  buffer.set(ascii('YYYYY'));
  assert.equal(await text(file.blob('')), 'f!!st');
});

test('a write past the end, which would leave a gap, is a bug and refused', () => {
  const file = new BlobFile();
  file.write(ascii('abc'), 0);
  assert.throws(() => file.write(ascii('d'), 4), /a write at 4 would leave a gap after the end of the file at 3/);
});
