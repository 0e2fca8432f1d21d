// The Keys menu's combos (src/key-combos.ts): the KeyboardButton presses
// each sends, as set-1 scancodes (src/keyboard.ts). Bundled with
// keyboard.ts, so the scancodes are the ones the page forwards for keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'rolldown';

const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
const { output } = await build({
  input: { 'key-combos': join(import.meta.dirname, '../src/key-combos.ts') },
  write: false,
  logLevel: 'silent',
});
for (const chunk of output) writeFileSync(join(dir, chunk.fileName), chunk.type === 'chunk' ? chunk.code : chunk.source);
const { comboPresses, keyComboNamed, KEY_COMBOS } = await import(pathToFileURL(join(dir, 'key-combos.js')));
rmSync(dir, { recursive: true });

const press = (keyCode) => ({ keyCode, pressed: true });
const release = (keyCode) => ({ keyCode, pressed: false });

test('Ctrl+Alt+Del holds Ctrl and Alt while Delete goes down, then lets go in reverse', () => {
  assert.deepEqual(comboPresses('ctrl-alt-del'), [
    press(0x1d), // ControlLeft
    press(0x38), // AltLeft
    press(0xe053), // Delete (extended)
    release(0xe053),
    release(0x38),
    release(0x1d),
  ]);
});

test('each combo presses its keys, modifiers first', () => {
  const keys = {
    'ctrl-alt-del': [0x1d, 0x38, 0xe053],
    'ctrl-w': [0x1d, 0x11],
    'alt-tab': [0x38, 0x0f],
    'alt-f4': [0x38, 0x3e],
    super: [0xe05b],
    'print-screen': [0xe037],
  };
  assert.deepEqual([...KEY_COMBOS].sort(), Object.keys(keys).sort(), 'the menu offers exactly these');
  for (const combo of KEY_COMBOS) {
    const presses = comboPresses(combo);
    const down = presses.slice(0, presses.length / 2);
    assert.deepEqual(down, keys[combo].map(press), `${combo} presses`);
  }
});

test('every combo releases what it pressed, in mirror order, and leaves nothing held', () => {
  for (const combo of KEY_COMBOS) {
    const presses = comboPresses(combo);
    assert.equal(presses.length % 2, 0, combo);
    const half = presses.length / 2;
    const down = presses.slice(0, half);
    const up = presses.slice(half);
    assert.ok(down.every((p) => p.pressed) && up.every((p) => !p.pressed), `${combo}: presses, then releases`);
    assert.deepEqual(up.map((p) => p.keyCode), down.map((p) => p.keyCode).reverse(), `${combo}: releases mirror presses`);
    const held = new Set();
    for (const { keyCode, pressed } of presses) {
      if (pressed) held.add(keyCode);
      else assert.ok(held.delete(keyCode), `${combo}: releases only a key it holds`);
    }
    assert.equal(held.size, 0, `${combo}: nothing left held`);
  }
});

test('a menu item names its combo; anything else is no combo', () => {
  for (const combo of KEY_COMBOS) assert.equal(keyComboNamed(combo), combo);
  for (const name of ['', 'ctrl-alt-delete', 'Ctrl-W', 'toString', '__proto__']) assert.equal(keyComboNamed(name), null, name);
});

test('each call gives a fresh list, so a caller may change it', () => {
  const first = comboPresses('alt-tab');
  first.pop();
  assert.equal(comboPresses('alt-tab').length, 4);
});
