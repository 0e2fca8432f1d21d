// The query string both lists send (src/list-query.ts): parameters in the
// order given, escaped, empty ones left out for the server's default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'rolldown/experimental';

const source = join(import.meta.dirname, '../src/list-query.ts');
const { code, errors } = transformSync(source, readFileSync(source, 'utf8'), { lang: 'ts' });
assert.deepEqual(errors, []);
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
writeFileSync(join(dir, 'list-query.mjs'), code);
const { queryString } = await import(pathToFileURL(join(dir, 'list-query.mjs')));
rmSync(dir, { recursive: true });

test('parameters go out in the order given, escaped', () => {
  assert.equal(queryString({ user: 'a&b=c d', since: '24h', page: 'tok/en=' }), 'user=a%26b%3Dc+d&since=24h&page=tok%2Fen%3D');
});

test('absent and empty parameters are left out', () => {
  assert.equal(queryString({}), '');
  assert.equal(queryString({ since: undefined, user: '', limit: '100' }), 'limit=100');
});
