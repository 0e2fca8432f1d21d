// The name of a security key or passkey (src/device-name.ts): the server's
// rule, and the name the Account page suggests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'rolldown/experimental';

const source = join(import.meta.dirname, '../src/device-name.ts');
const { code, errors } = transformSync(source, readFileSync(source, 'utf8'), { lang: 'ts' });
assert.deepEqual(errors, []);
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
writeFileSync(join(dir, 'device-name.mjs'), code);
const { deviceName, suggestedName, MAX_DEVICE_NAME } = await import(pathToFileURL(join(dir, 'device-name.mjs')));
rmSync(dir, { recursive: true });

test('a name is trimmed, and has 1 to 64 characters, none of them control characters', () => {
  assert.deepEqual(deviceName('  YubiKey 5 '), { name: 'YubiKey 5' });
  assert.deepEqual(deviceName('clé 🔑'), { name: 'clé 🔑' });
  assert.deepEqual(deviceName('🔑'.repeat(MAX_DEVICE_NAME)), { name: '🔑'.repeat(64) }, 'characters, not UTF-16 units');
  assert.match(deviceName('   ').error, /give the security key a name/);
  assert.match(deviceName('k'.repeat(65)).error, /at most 64 characters/);
  assert.match(deviceName('a\nb').error, /control characters/);
  assert.match(deviceName('a\u0085b').error, /control characters/);
});

test('the suggested name is one the user does not have yet', () => {
  assert.equal(suggestedName([]), 'Security key');
  assert.equal(suggestedName(['Phone']), 'Security key');
  assert.equal(suggestedName(['Security key']), 'Security key 2');
  assert.equal(suggestedName(['security KEY', 'Security key 2']), 'Security key 3');
  assert.equal(suggestedName(['Security key 2']), 'Security key');
});
