// An exported video's size (src/video-size.ts): every screen the recording
// shows fits at its top-left, in even sizes as VP8 and VP9 take them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'rolldown/experimental';

const source = join(import.meta.dirname, '../src/video-size.ts');
const { code, errors } = transformSync(source, readFileSync(source, 'utf8'), { lang: 'ts' });
assert.deepEqual(errors, []);
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
writeFileSync(join(dir, 'video-size.mjs'), code);
const { videoSize } = await import(pathToFileURL(join(dir, 'video-size.mjs')));
rmSync(dir, { recursive: true });

test('one screen: its size', () => {
  assert.deepEqual(videoSize([{ width: 1920, height: 1080 }]), { width: 1920, height: 1080 });
});

test('screens of several sizes: the widest and the tallest, which may be two screens', () => {
  const screens = [{ width: 1280, height: 800 }, { width: 1920, height: 600 }, { width: 1024, height: 1200 }];
  assert.deepEqual(videoSize(screens), { width: 1920, height: 1200 });
});

test('an odd side is made even, one black line more', () => {
  assert.deepEqual(videoSize([{ width: 699, height: 457 }]), { width: 700, height: 458 });
  assert.deepEqual(videoSize([{ width: 1, height: 1 }]), { width: 2, height: 2 });
  assert.deepEqual(videoSize([{ width: 701, height: 400 }, { width: 700, height: 401 }]), { width: 702, height: 402 });
});

test('no screen, or none with a picture, is no size', () => {
  assert.equal(videoSize([]), null);
  assert.equal(videoSize([{ width: 0, height: 0 }]), null);
  assert.equal(videoSize([{ width: 800, height: 0 }]), null);
});
