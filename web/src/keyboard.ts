// KeyboardEvent.code -> PC set-1 scancode (extended keys as 0xE0xx).
//
// `code` names the physical key, independent of the local layout, so the
// remote desktop's own XKB layout decides what character a key makes; that is
// what makes AltGr and dead keys behave as they do on the remote side.

const SCANCODES: ReadonlyMap<string, number> = new Map([
  // Row 0
  ['Escape', 0x01],
  ['F1', 0x3b], ['F2', 0x3c], ['F3', 0x3d], ['F4', 0x3e], ['F5', 0x3f], ['F6', 0x40],
  ['F7', 0x41], ['F8', 0x42], ['F9', 0x43], ['F10', 0x44], ['F11', 0x57], ['F12', 0x58],
  ['F13', 0x64], ['F14', 0x65], ['F15', 0x66], ['F16', 0x67], ['F17', 0x68], ['F18', 0x69],
  ['F19', 0x6a], ['F20', 0x6b], ['F21', 0x6c], ['F22', 0x6d], ['F23', 0x6e], ['F24', 0x76],
  ['PrintScreen', 0xe037],
  ['ScrollLock', 0x46],
  // Set 1 gives Pause no two-byte code (its make is E1 1D 45). 0xE046 is
  // the code Ctrl+Break sends on a real keyboard; the desktop maps it to Pause.
  ['Pause', 0xe046],

  // Row 1
  ['Backquote', 0x29],
  ['Digit1', 0x02], ['Digit2', 0x03], ['Digit3', 0x04], ['Digit4', 0x05], ['Digit5', 0x06],
  ['Digit6', 0x07], ['Digit7', 0x08], ['Digit8', 0x09], ['Digit9', 0x0a], ['Digit0', 0x0b],
  ['Minus', 0x0c], ['Equal', 0x0d], ['IntlYen', 0x7d], ['Backspace', 0x0e],

  // Row 2
  ['Tab', 0x0f],
  ['KeyQ', 0x10], ['KeyW', 0x11], ['KeyE', 0x12], ['KeyR', 0x13], ['KeyT', 0x14],
  ['KeyY', 0x15], ['KeyU', 0x16], ['KeyI', 0x17], ['KeyO', 0x18], ['KeyP', 0x19],
  ['BracketLeft', 0x1a], ['BracketRight', 0x1b], ['Backslash', 0x2b],

  // Row 3
  ['CapsLock', 0x3a],
  ['KeyA', 0x1e], ['KeyS', 0x1f], ['KeyD', 0x20], ['KeyF', 0x21], ['KeyG', 0x22],
  ['KeyH', 0x23], ['KeyJ', 0x24], ['KeyK', 0x25], ['KeyL', 0x26],
  ['Semicolon', 0x27], ['Quote', 0x28], ['Enter', 0x1c],

  // Row 4
  ['ShiftLeft', 0x2a], ['IntlBackslash', 0x56],
  ['KeyZ', 0x2c], ['KeyX', 0x2d], ['KeyC', 0x2e], ['KeyV', 0x2f], ['KeyB', 0x30],
  ['KeyN', 0x31], ['KeyM', 0x32],
  ['Comma', 0x33], ['Period', 0x34], ['Slash', 0x35], ['IntlRo', 0x73], ['ShiftRight', 0x36],

  // Row 5
  ['ControlLeft', 0x1d], ['MetaLeft', 0xe05b], ['AltLeft', 0x38],
  ['NonConvert', 0x7b], ['Space', 0x39], ['Convert', 0x79], ['KanaMode', 0x70],
  ['AltRight', 0xe038], ['MetaRight', 0xe05c], ['ContextMenu', 0xe05d], ['ControlRight', 0xe01d],
  // Korean keyboards: Hangul/English toggle and Hanja.
  ['Lang1', 0x72], ['Lang2', 0x71],

  // Navigation block
  ['Insert', 0xe052], ['Delete', 0xe053],
  ['Home', 0xe047], ['End', 0xe04f],
  ['PageUp', 0xe049], ['PageDown', 0xe051],
  ['ArrowUp', 0xe048], ['ArrowDown', 0xe050], ['ArrowLeft', 0xe04b], ['ArrowRight', 0xe04d],

  // Keypad
  ['NumLock', 0x45],
  ['NumpadDivide', 0xe035], ['NumpadMultiply', 0x37], ['NumpadSubtract', 0x4a], ['NumpadAdd', 0x4e],
  ['NumpadEnter', 0xe01c], ['NumpadDecimal', 0x53], ['NumpadEqual', 0x59], ['NumpadComma', 0x7e],
  ['Numpad7', 0x47], ['Numpad8', 0x48], ['Numpad9', 0x49],
  ['Numpad4', 0x4b], ['Numpad5', 0x4c], ['Numpad6', 0x4d],
  ['Numpad1', 0x4f], ['Numpad2', 0x50], ['Numpad3', 0x51],
  ['Numpad0', 0x52],

  // Media and browser keys
  ['MediaTrackPrevious', 0xe010], ['MediaTrackNext', 0xe019],
  ['AudioVolumeMute', 0xe020], ['LaunchApp2', 0xe021], ['MediaPlayPause', 0xe022], ['MediaStop', 0xe024],
  ['AudioVolumeDown', 0xe02e], ['AudioVolumeUp', 0xe030], ['BrowserHome', 0xe032],
  ['Power', 0xe05e], ['Sleep', 0xe05f], ['WakeUp', 0xe063],
  ['BrowserSearch', 0xe065], ['BrowserFavorites', 0xe066], ['BrowserRefresh', 0xe067],
  ['BrowserStop', 0xe068], ['BrowserForward', 0xe069], ['BrowserBack', 0xe06a],
  ['LaunchApp1', 0xe06b], ['LaunchMail', 0xe06c], ['MediaSelect', 0xe06d],

  // Names older Firefox versions used for the Meta keys.
  ['OSLeft', 0xe05b], ['OSRight', 0xe05c],
]);

/** The set-1 scancode of a physical key, or undefined for a key we do not forward. */
export function scancode(code: string): number | undefined {
  return SCANCODES.get(code);
}

/** Lock keys toggle state; SyncKeys must not be read from their own events. */
export function isLockKey(code: string): boolean {
  return code === 'CapsLock' || code === 'NumLock' || code === 'ScrollLock';
}
