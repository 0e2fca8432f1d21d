// How the player and the recordings list show a length of time (src/duration.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'rolldown/experimental';

const source = join(import.meta.dirname, '../src/duration.ts');
const { code, errors } = transformSync(source, readFileSync(source, 'utf8'), { lang: 'ts' });
assert.deepEqual(errors, []);
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
writeFileSync(join(dir, 'duration.mjs'), code);
const { formatDuration } = await import(pathToFileURL(join(dir, 'duration.mjs')));
rmSync(dir, { recursive: true });

test('mm:ss under an hour, h:mm:ss from an hour on, whole seconds shown', () => {
  const cases = [
    [0, '00:00'],
    [999, '00:00'],
    [1_000, '00:01'],
    [65_500, '01:05'],
    [3_599_999, '59:59'],
    [3_600_000, '1:00:00'],
    [36_061_000, '10:01:01'],
    [-20, '00:00'],
  ];
  for (const [ms, shown] of cases) assert.equal(formatDuration(ms), shown, `${ms}`);
});
