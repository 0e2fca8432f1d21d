// The recordings page's filter (src/recording-filter.ts): a time range
// (time-range.ts, shared with the audit log), a user, a desktop; and the
// query string GET /api/recordings takes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'rolldown';

// From/To are local times; a zone with an offset shows the conversion.
process.env.TZ = 'Europe/Paris';

// Bundled with the time-range.ts it imports; types stripped by rolldown.
const { output } = await build({ input: join(import.meta.dirname, '../src/recording-filter.ts'), write: false, logLevel: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
writeFileSync(join(dir, 'recording-filter.mjs'), output[0].code);
const { queryOf, searchParams, EMPTY_FILTER, DEFAULT_RANGE } = await import(pathToFileURL(join(dir, 'recording-filter.mjs')));
rmSync(dir, { recursive: true });

const query = (changes) => {
  const result = queryOf({ ...EMPTY_FILTER, ...changes });
  assert.equal(result.ok, true, JSON.stringify(result));
  return result.query;
};

test('by default, the recordings of the last 7 days, asked as a duration the server measures', () => {
  assert.equal(DEFAULT_RANGE, '7d');
  assert.deepEqual(query({}), { since: '168h' });
  assert.equal(searchParams(query({})), 'since=168h');
  assert.deepEqual(query({ range: 'all' }), {});
});

test('dates are local times sent in UTC, To including its minute', () => {
  assert.deepEqual(query({ range: 'custom', from: '2026-01-15T10:00', to: '2026-01-15T11:30' }), {
    since: '2026-01-15T09:00:00.000Z',
    until: '2026-01-15T10:30:59.999Z',
  });
  assert.deepEqual(queryOf({ ...EMPTY_FILTER, range: 'custom', from: '2026-01-15T10:01', to: '2026-01-15T10:00' }), {
    ok: false,
    problem: { field: 'to', message: 'To is before From.' },
  });
});

test('user and desktop are sent trimmed, and left out when empty', () => {
  assert.deepEqual(query({ range: 'all', user: ' alice ', desktop: ' web-1' }), { user: 'alice', desktop: 'web-1' });
  assert.deepEqual(query({ range: 'all', user: '  ', desktop: '' }), {});
});

test('the query string carries every parameter, escaped, in a steady order', () => {
  assert.equal(searchParams({}), '');
  assert.equal(
    searchParams({ since: '168h', until: '2026-01-15T10:30:59.999Z', user: 'a&b', desktop: 'web 1', limit: 100, page: 'tok/en=' }),
    'since=168h&until=2026-01-15T10%3A30%3A59.999Z&user=a%26b&desktop=web+1&limit=100&page=tok%2Fen%3D',
  );
  assert.equal(searchParams({ user: '', page: '' }), '', 'empty values are not sent');
});
