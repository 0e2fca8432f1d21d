// One search through a list read a page at a time (src/paged-search.ts): the
// requests it makes, what it counts, and the status lines the audit log and
// the recordings list show.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'rolldown/experimental';

const source = join(import.meta.dirname, '../src/paged-search.ts');
const { code, errors } = transformSync(source, readFileSync(source, 'utf8'), { lang: 'ts' });
assert.deepEqual(errors, []);
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
writeFileSync(join(dir, 'paged-search.mjs'), code);
const { PagedSearch } = await import(pathToFileURL(join(dir, 'paged-search.mjs')));
rmSync(dir, { recursive: true });

const events = { one: 'event', many: 'events' };
const recordings = { one: 'recording', many: 'recordings' };

test('the first request is the query with the page size; each next one carries the previous answer’s token', () => {
  const search = new PagedSearch({ since: '24h', user: 'alice' }, 200);
  assert.deepEqual(search.nextRequest(), { since: '24h', user: 'alice', limit: 200 });
  search.take({ items: [1, 2], nextPage: 'tok-1' });
  assert.deepEqual(search.nextRequest(), { since: '24h', user: 'alice', limit: 200, page: 'tok-1' });
  search.take({ items: [3], nextPage: 'tok-2' });
  assert.deepEqual(search.nextRequest(), { since: '24h', user: 'alice', limit: 200, page: 'tok-2' });
});

test('the pages taken are counted, and Load more is offered while the server has a next page', () => {
  const search = new PagedSearch({}, 2);
  assert.equal(search.shown, 0);
  assert.equal(search.hasMore, false, 'nothing is offered before the first answer');
  search.take({ items: [1, 2], nextPage: 'tok' });
  assert.equal(search.shown, 2);
  assert.equal(search.hasMore, true);
  search.take({ items: [3], nextPage: null });
  assert.equal(search.shown, 3);
  assert.equal(search.hasMore, false);
});

test('loading says whether it is the first page or more', () => {
  const search = new PagedSearch({}, 100);
  assert.equal(search.loading(recordings), 'Loading recordings…');
  search.take({ items: [1], nextPage: 'tok' });
  assert.equal(search.loading(recordings), 'Loading more recordings…');
  assert.equal(search.loading(events), 'Loading more events…');
});

test('the count names one or many, and says where Load more leads', () => {
  const counted = (items, nextPage, nouns) => {
    const search = new PagedSearch({}, 100);
    search.take({ items, nextPage });
    return search.counted(nouns);
  };
  assert.equal(counted([], null, events), 'No events match these filters.');
  assert.equal(counted([], 'tok', events), 'No matching events so far; Load more searches further back.');
  assert.equal(counted([1], null, recordings), '1 recording, newest first.');
  assert.equal(counted([1, 2], null, recordings), '2 recordings, newest first.');
  assert.equal(counted([1], 'tok', events), '1 event so far, newest first; Load more shows older ones.');
  assert.equal(counted([1, 2, 3], 'tok', recordings), '3 recordings so far, newest first; Load more shows older ones.');
});
