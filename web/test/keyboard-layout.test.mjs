// The keyboard layout guess (src/keyboard-layout.ts): what the keys make,
// or else the browser's language, names an XKB layout. The module is plain
// TypeScript without DOM use at load, so its types are stripped here and it
// runs in Node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'rolldown/experimental';

const source = join(import.meta.dirname, '../src/keyboard-layout.ts');
const { code, errors } = transformSync(source, readFileSync(source, 'utf8'), { lang: 'ts' });
assert.deepEqual(errors, []);
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
writeFileSync(join(dir, 'keyboard-layout.mjs'), code);
const { layoutFromKeys, layoutFromLanguage, layoutNamed, LAYOUTS } = await import(pathToFileURL(join(dir, 'keyboard-layout.mjs')));
rmSync(dir, { recursive: true });

/** A layout map from rows of characters: the keys of a 105-key keyboard, unshifted. */
function keys({ backquote, digits, minus, equal, top, brackets, home, semicolon, quote, backslash, bottom }) {
  const map = new Map([['Backquote', backquote], ['Minus', minus], ['Equal', equal], ['Semicolon', semicolon], ['Quote', quote], ['Backslash', backslash]]);
  [...digits].forEach((c, i) => map.set(`Digit${(i + 1) % 10}`, c));
  [...top].forEach((c, i) => map.set(`Key${'QWERTYUIOP'[i]}`, c));
  map.set('BracketLeft', brackets[0]).set('BracketRight', brackets[1]);
  [...home].forEach((c, i) => map.set(`Key${'ASDFGHJKL'[i]}`, c));
  [...bottom].forEach((c, i) => map.set(`Key${'ZXCVBNM'[i]}`, c));
  return map;
}

const us = { backquote: '`', digits: '1234567890', minus: '-', equal: '=', top: 'qwertyuiop', brackets: '[]', home: 'asdfghjkl', semicolon: ';', quote: "'", backslash: '\\', bottom: 'zxcvbnm' };

test('what the keys make names the layout', () => {
  const cases = [
    ['us', us],
    ['gb', { ...us, backslash: '#' }],
    ['de', { ...us, backquote: '^', digits: '1234567890', minus: 'ß', equal: '´', top: 'qwertzuiop', brackets: 'ü+', semicolon: 'ö', quote: 'ä', backslash: '#', bottom: 'yxcvbnm' }],
    ['ch', { ...us, backquote: '§', minus: "'", equal: '^', top: 'qwertzuiop', brackets: 'ü¨', semicolon: 'ö', quote: 'ä', backslash: '$', bottom: 'yxcvbnm' }],
    ['ch(fr)', { ...us, backquote: '§', top: 'qwertzuiop', brackets: 'è¨', semicolon: 'é', quote: 'à', bottom: 'yxcvbnm' }],
    ['cz', { ...us, digits: '+ěščřžýáíé', top: 'qwertzuiop', semicolon: 'ů', quote: '§', bottom: 'yxcvbnm' }],
    ['fr', { ...us, backquote: '²', digits: '&é"\'(-è_çà', minus: ')', equal: '=', top: 'azertyuiop', brackets: '^$', home: 'qsdfghjkl', semicolon: 'm', quote: 'ù', backslash: '*', bottom: 'wxcvbn,' }],
    ['be', { ...us, backquote: '²', digits: '&é"\'(§è!çà', minus: ')', equal: '-', top: 'azertyuiop', brackets: '^$', home: 'qsdfghjkl', semicolon: 'm', quote: 'ù', backslash: 'µ', bottom: 'wxcvbn,' }],
    ['es', { ...us, backquote: 'º', minus: "'", equal: '¡', brackets: '`+', semicolon: 'ñ', quote: '´', backslash: 'ç' }],
    ['it', { ...us, backquote: '\\', minus: "'", equal: 'ì', brackets: 'è+', semicolon: 'ò', quote: 'à', backslash: 'ù' }],
    ['pt', { ...us, backquote: '\\', minus: "'", equal: '«', brackets: '+´', semicolon: 'ç', quote: 'º', backslash: '~' }],
    ['br', { ...us, backquote: "'", brackets: '´[', semicolon: 'ç', quote: '~', backslash: ']' }],
    ['se', { ...us, backquote: '§', minus: '+', equal: '´', brackets: 'å¨', semicolon: 'ö', quote: 'ä', backslash: "'" }],
    ['no', { ...us, backquote: '|', brackets: 'å¨', semicolon: 'ø', quote: 'æ', backslash: "'" }],
    ['dk', { ...us, backquote: '½', brackets: 'å¨', semicolon: 'æ', quote: 'ø', backslash: "'" }],
    ['ru', { ...us, top: 'йцукенгшщз', home: 'фывапролд', semicolon: 'ж', quote: 'э', bottom: 'ячсмить' }],
  ];
  for (const [want, layout] of cases) assert.equal(layoutFromKeys(keys(layout)), want, want);
});

test('keys that match no layout we tell apart name none', () => {
  assert.equal(layoutFromKeys(new Map()), null);
  assert.equal(layoutFromKeys(keys({ ...us, top: "',.pyfgcrl", home: 'aoeuidhtn', semicolon: 's', bottom: ';qjkxbm' })), null, 'Dvorak');
  assert.equal(layoutFromKeys(keys({ ...us, top: 'qwertzuiop', semicolon: 'č', bottom: 'yxcvbnm' })), null, 'an unknown QWERTZ');
});

test('the language suggests a layout when the keys cannot', () => {
  const cases = [
    ['de-DE', 'de'], ['de-AT', 'de'], ['de-CH', 'ch'], ['fr', 'fr'], ['fr-FR', 'fr'], ['fr-CA', 'fr'], ['fr-CH', 'ch(fr)'],
    ['fr-BE', 'be'], ['en-US', 'us'], ['en-GB', 'gb'], ['en', 'us'], ['pt-BR', 'br'], ['pt-PT', 'pt'], ['sv-SE', 'se'],
    ['nb-NO', 'no'], ['da', 'dk'], ['ja-JP', 'jp'], ['zh-Hans-CN', null], ['', null],
  ];
  for (const [language, want] of cases) assert.equal(layoutFromLanguage(language), want, language);
});

test('every offered layout is an XKB name the desktop accepts, with its Windows id', () => {
  for (const { name, klid } of LAYOUTS) {
    assert.match(name, /^[a-z]{2,8}(\([a-z0-9_][a-z0-9_-]{0,31}\))?$/, name);
    assert.ok(klid > 0, name);
  }
  assert.deepEqual(layoutNamed('de'), { name: 'de', klid: 0x0407 });
  assert.deepEqual(layoutNamed('fr'), { name: 'fr', klid: 0x040c });
  assert.deepEqual(layoutNamed('latam'), { name: 'latam', klid: 0 }, 'a name not offered is sent without a KLID');
});
