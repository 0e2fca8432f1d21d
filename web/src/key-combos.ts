// Key combinations the browser or the local system keeps for itself:
// Ctrl+Alt+Del never reaches a page, Ctrl+W closes the tab, Alt+Tab and
// Super switch local windows. The toolbar's Keys menu sends them to the
// desktop as the KeyboardButton presses a keyboard would make.
import { scancode } from './keyboard';

export type KeyCombo = 'ctrl-alt-del' | 'ctrl-w' | 'alt-tab' | 'alt-f4' | 'super' | 'print-screen';

/** Each combo's physical keys (KeyboardEvent.code), modifiers first. */
const KEYS: Readonly<Record<KeyCombo, readonly string[]>> = {
  'ctrl-alt-del': ['ControlLeft', 'AltLeft', 'Delete'],
  'ctrl-w': ['ControlLeft', 'KeyW'],
  'alt-tab': ['AltLeft', 'Tab'],
  'alt-f4': ['AltLeft', 'F4'],
  super: ['MetaLeft'],
  'print-screen': ['PrintScreen'],
};

/** Every combo, in the Keys menu's order. */
export const KEY_COMBOS: readonly KeyCombo[] = Object.keys(KEYS) as KeyCombo[];

/** `name` as a combo (e.g. a menu item's data-combo), or null. */
export function keyComboNamed(name: string): KeyCombo | null {
  return (KEY_COMBOS as readonly string[]).includes(name) ? (name as KeyCombo) : null;
}

/**
 * The TDPB KeyboardButton sequence of `combo`: its keys pressed in order,
 * then released in reverse, as fingers do; a desktop that watches for
 * Ctrl+Alt+Del sees the modifiers held when Delete goes down.
 */
export function comboPresses(combo: KeyCombo): { keyCode: number; pressed: boolean }[] {
  const codes = KEYS[combo].map((code) => {
    const keyCode = scancode(code);
    if (keyCode === undefined) throw new Error(`key combo ${combo}: ${code} has no scancode`);
    return keyCode;
  });
  return [
    ...codes.map((keyCode) => ({ keyCode, pressed: true })),
    ...[...codes].reverse().map((keyCode) => ({ keyCode, pressed: false })),
  ];
}
