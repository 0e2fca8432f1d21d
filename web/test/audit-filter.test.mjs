// The audit page's filter (src/audit-filter.ts): the time range presets, the
// From/To dates typed in local time, and the query string the server takes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'rolldown';

// From/To are local times; a zone with an offset and daylight saving shows the conversion.
process.env.TZ = 'Europe/Paris';

// Each module is bundled with what it imports (time-range.ts); types stripped by rolldown.
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
async function load(name) {
  const { output } = await build({ input: join(import.meta.dirname, `../src/${name}.ts`), write: false, logLevel: 'silent' });
  writeFileSync(join(dir, `${name}.mjs`), output[0].code);
  return import(pathToFileURL(join(dir, `${name}.mjs`)));
}
const { queryOf, searchParams, EMPTY_FILTER, DEFAULT_RANGE } = await load('audit-filter');
const { RANGES } = await load('time-range');
rmSync(dir, { recursive: true });

const filter = (changes) => ({ ...EMPTY_FILTER, ...changes });
const query = (changes) => {
  const result = queryOf(filter(changes));
  assert.equal(result.ok, true, JSON.stringify(result));
  return result.query;
};

test('the presets ask for a duration back from the server’s now, in Go’s units', () => {
  assert.equal(DEFAULT_RANGE, '24h');
  const since = Object.fromEntries(RANGES.map((range) => [range.name, query({ range: range.name }).since]));
  assert.deepEqual(since, { '1h': '1h', '24h': '24h', '7d': '168h', '30d': '720h', all: undefined, custom: undefined });
  for (const { since } of RANGES) if (since !== null) assert.match(since, /^\d+h$/);
});

test('the default filter is the last 24 hours of every event', () => {
  assert.deepEqual(query({}), { since: '24h' });
  assert.equal(searchParams(query({})), 'since=24h');
});

test('From and To are local times sent in UTC; To includes its whole minute', () => {
  assert.deepEqual(query({ range: 'custom', from: '2026-01-15T10:00', to: '2026-01-15T11:30' }), {
    since: '2026-01-15T09:00:00.000Z',
    until: '2026-01-15T10:30:59.999Z',
  });
  // Summer time: two hours ahead of UTC.
  assert.deepEqual(query({ range: 'custom', from: '2026-07-01T00:00' }), { since: '2026-06-30T22:00:00.000Z' });
  assert.deepEqual(query({ range: 'custom', to: '2026-07-01T00:00:30' }), { until: '2026-06-30T22:00:30.000Z' }, 'seconds typed are kept');
  assert.deepEqual(query({ range: 'custom', to: '2026-07-01T00:00:30.5' }), { until: '2026-06-30T22:00:30.500Z' });
  assert.deepEqual(query({ range: 'custom' }), {}, 'neither: all time');
  assert.deepEqual(query({ range: '1h', from: '2026-01-15T10:00' }), { since: '1h' }, 'dates count only with the custom range');
});

test('a range that cannot be sent names the input at fault', () => {
  const cases = [
    [{ from: 'yesterday' }, 'from', 'From is not a date and time.'],
    [{ from: '2026-02-30T10:00' }, 'from', 'From is not a date and time.'],
    [{ to: '2026-01-15T24:00' }, 'to', 'To is not a date and time.'],
    [{ to: '2026-01-15' }, 'to', 'To is not a date and time.'],
    [{ from: '2026-01-15T10:01', to: '2026-01-15T10:00' }, 'to', 'To is before From.'],
  ];
  for (const [dates, field, message] of cases) {
    assert.deepEqual(queryOf(filter({ range: 'custom', ...dates })), { ok: false, problem: { field, message } }, JSON.stringify(dates));
  }
  assert.equal(queryOf(filter({ range: 'custom', from: '2026-01-15T10:00', to: '2026-01-15T10:00' })).ok, true, 'one minute');
});

test('type, user and session are sent trimmed, and left out when empty', () => {
  assert.deepEqual(query({ range: 'all', type: 'user.login', user: ' alice ', session: '  ' }), { types: ['user.login'], user: 'alice' });
  assert.deepEqual(query({ range: 'all', session: 'c0ffee00-0000-4000-8000-000000000000' }), { session: 'c0ffee00-0000-4000-8000-000000000000' });
});

test('the query string carries every parameter, escaped, in a steady order', () => {
  assert.equal(searchParams({}), '');
  assert.equal(
    searchParams({
      since: '2026-01-15T09:00:00.000Z',
      until: '2026-01-15T10:30:59.999Z',
      types: ['user.login', 'role.created'],
      user: 'a&b=c d',
      session: 's-1',
      limit: 200,
      order: 'asc',
      page: '1768467600000-0b5a',
    }),
    'since=2026-01-15T09%3A00%3A00.000Z&until=2026-01-15T10%3A30%3A59.999Z&types=user.login%2Crole.created&user=a%26b%3Dc+d&session=s-1&limit=200&order=asc&page=1768467600000-0b5a',
  );
  assert.equal(searchParams({ types: [], user: '', page: '' }), '', 'empty values are not sent');
  const parsed = new URLSearchParams(searchParams({ user: 'a&b=c d', types: ['user.login'] }));
  assert.deepEqual([...parsed], [['types', 'user.login'], ['user', 'a&b=c d']]);
});
