// Path checks for shared directories (src/shared-path.ts): what the browser
// refuses before it touches the picked directory, the same rules as the
// desktop service's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'rolldown/experimental';

const source = join(import.meta.dirname, '../src/shared-path.ts');
const { code, errors } = transformSync(source, readFileSync(source, 'utf8'), { lang: 'ts' });
assert.deepEqual(errors, []);
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
writeFileSync(join(dir, 'shared-path.mjs'), code);
const { pathProblem, pathComponents, RefusedPath } = await import(pathToFileURL(join(dir, 'shared-path.mjs')));
rmSync(dir, { recursive: true });

test('plain relative paths pass, with their components', () => {
  for (const ok of ['', 'a', 'a/b', 'a b/ç.txt', '.hidden/x', 'a..b', '...', 'a\\b']) {
    assert.equal(pathProblem(ok), null, ok);
  }
  assert.deepEqual(pathComponents(''), []);
  assert.deepEqual(pathComponents('dir/sub/file.txt'), ['dir', 'sub', 'file.txt']);
});

test('hostile paths are refused with the reason', () => {
  const cases = [
    ['/etc/passwd', 'path is absolute'],
    ['..', 'path has a ".." component'],
    ['a/../../b', 'path has a ".." component'],
    ['./a', 'path has a "." component'],
    ['a//b', 'path has a "" component'],
    ['a/', 'path has a "" component'],
    ['a\0b', 'path contains a NUL byte'],
  ];
  for (const [path, reason] of cases) {
    assert.equal(pathProblem(path), reason, JSON.stringify(path));
    assert.throws(() => pathComponents(path), RefusedPath);
  }
});

test('the length limit counts bytes of UTF-8, not characters', () => {
  assert.equal(pathProblem('a'.repeat(10240)), null);
  assert.equal(pathProblem('a'.repeat(10241)), 'path of 10241 bytes is longer than 10240');
  // 5121 two-byte characters are 10242 bytes.
  assert.equal(pathProblem('é'.repeat(5121)), 'path of 10242 bytes is longer than 10240');
});
