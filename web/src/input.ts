// Mouse, wheel and keyboard events on the screen canvas, turned into TDPB.
//
// Key repeat: a held key's repeated keydowns are forwarded as further presses
// with no release in between, as RDP clients do. The repeat rate is then the
// user's own, and a lost release cannot make the desktop repeat forever. The
// desktop service must therefore not add X server autorepeat of its own (or
// drop a press for a key already down).
//
// Text: a key is sent as its physical key, and the desktop's layout makes the
// character. What no key makes arrives as text (KeyboardText): what an input
// method composed, and keys the browser names by their character only. The
// canvas gets it through an EditContext (Chromium), which lets an input
// method work on a canvas; elsewhere only from such keys. Pasted or dropped
// text is the clipboard's business, never typed.
import { isLockKey, scancode } from './keyboard';
import { MouseButtonType, MouseWheelAxis, MAX_KEYBOARD_TEXT_BYTES, type ClientMessage } from './protocol';

/** Bits of MouseEvent.buttons, in the order of MouseButtonType. */
const BUTTON_BITS: readonly [bit: number, button: MouseButtonType][] = [
  [1, MouseButtonType.LEFT],
  [4, MouseButtonType.MIDDLE],
  [2, MouseButtonType.RIGHT],
  [8, MouseButtonType.BACK],
  [16, MouseButtonType.FORWARD],
];

/** Wheel units per CSS pixel: a 100 px scroll step is one 120-unit notch. */
const WHEEL_UNITS_PER_PIXEL = 120 / 100;
const WHEEL_LINE_PIXELS = 40;
const WHEEL_PAGE_PIXELS = 800;

export class Input {
  readonly #canvas: HTMLCanvasElement;
  readonly #send: (message: ClientMessage) => void;
  readonly #abort = new AbortController();
  #enabled = false;
  /** Scancodes the desktop believes are down. */
  readonly #keysDown = new Set<number>();
  /** MouseEvent.buttons bits the desktop believes are down. */
  #buttonsDown = 0;
  #pendingMove: { x: number; y: number } | null = null;
  #lastMove: { x: number; y: number } | null = null;
  #moveFrame = 0;
  #wheelX = 0;
  #wheelY = 0;
  /** Lock states are sent with the first event after focus, which carries them. */
  #needSync = true;
  /** Where an input method puts its text; null where the browser has no EditContext. */
  readonly #editContext: EditContextLike | null;
  #composing = false;

  constructor(canvas: HTMLCanvasElement, send: (message: ClientMessage) => void) {
    this.#canvas = canvas;
    this.#send = send;
    const options = { signal: this.#abort.signal };
    const active = { signal: this.#abort.signal, passive: false };
    canvas.addEventListener('pointerdown', (e) => this.#onPointerButtons(e, true), active);
    canvas.addEventListener('pointerup', (e) => this.#onPointerButtons(e, false), active);
    canvas.addEventListener('pointercancel', () => this.#releaseButtons(), options);
    canvas.addEventListener('pointermove', (e) => this.#onPointerMove(e), options);
    // Middle-click autoscroll and back/forward navigation hang off the mouse events.
    canvas.addEventListener('mousedown', (e) => e.preventDefault(), active);
    canvas.addEventListener('mouseup', (e) => e.preventDefault(), active);
    canvas.addEventListener('auxclick', (e) => e.preventDefault(), active);
    canvas.addEventListener('contextmenu', (e) => e.preventDefault(), active);
    canvas.addEventListener('wheel', (e) => this.#onWheel(e), active);
    canvas.addEventListener('keydown', (e) => this.#onKey(e, true), active);
    canvas.addEventListener('keyup', (e) => this.#onKey(e, false), active);
    this.#editContext = attachEditContext(canvas);
    if (this.#editContext !== null) {
      const context = this.#editContext;
      context.addEventListener('compositionstart', () => (this.#composing = true), options);
      context.addEventListener('compositionend', () => {
        this.#composing = false;
        this.#takeText();
      }, options);
      context.addEventListener('textupdate', () => this.#composing || this.#takeText(), options);
      // Only typing becomes text: a paste or drop must not type what the clipboard may not carry.
      canvas.addEventListener('beforeinput', (e) => TYPED.has(e.inputType) || e.preventDefault(), active);
    }
    canvas.addEventListener('focus', () => (this.#needSync = true), options);
    canvas.addEventListener('blur', () => this.releaseAll(), options);
    window.addEventListener('blur', () => this.releaseAll(), options);
    document.addEventListener(
      'visibilitychange',
      () => document.visibilityState === 'hidden' && this.releaseAll(),
      options,
    );
  }

  /** Starts forwarding events; before this (handshake, picker) they are dropped. */
  enable(): void {
    this.#enabled = true;
    this.#needSync = true;
  }

  /** Releases whatever is held and stops for good. */
  dispose(): void {
    this.releaseAll();
    this.#enabled = false;
    this.#abort.abort();
    if (this.#editContext !== null && this.#canvas.editContext === this.#editContext) this.#canvas.editContext = null;
    cancelAnimationFrame(this.#moveFrame);
  }

  /** Lets go of every key and button still down, so nothing sticks on the desktop. */
  releaseAll(): void {
    for (const keyCode of this.#keysDown) this.#emit({ keyboardButton: { keyCode, pressed: false } });
    this.#keysDown.clear();
    this.#releaseButtons();
  }

  #releaseButtons(): void {
    for (const [bit, button] of BUTTON_BITS) {
      if (this.#buttonsDown & bit) this.#emit({ mouseButton: { button, pressed: false } });
    }
    this.#buttonsDown = 0;
  }

  #emit(message: ClientMessage): void {
    if (this.#enabled) this.#send(message);
  }

  #onPointerButtons(e: PointerEvent, down: boolean): void {
    e.preventDefault();
    if (down) {
      this.#canvas.focus({ preventScroll: true });
      // Capture, so a drag that ends outside the canvas still releases.
      this.#canvas.setPointerCapture(e.pointerId);
    }
    if (!this.#enabled) return;
    this.#sync(e);
    this.#track(e);
    this.#flushMove();
    this.#updateButtons(e.buttons);
  }

  #onPointerMove(e: PointerEvent): void {
    if (!this.#enabled) return;
    this.#track(e);
    if (e.buttons !== this.#buttonsDown) {
      // A chorded press or release arrives as a pointermove.
      this.#flushMove();
      this.#updateButtons(e.buttons);
    } else if (this.#moveFrame === 0) {
      // At most one move per animation frame: the latest position wins.
      this.#moveFrame = requestAnimationFrame(() => this.#flushMove());
    }
  }

  /** Diffs against MouseEvent.buttons, which covers chords and missed events alike. */
  #updateButtons(buttons: number): void {
    for (const [bit, button] of BUTTON_BITS) {
      const now = (buttons & bit) !== 0;
      if (now !== ((this.#buttonsDown & bit) !== 0)) this.#emit({ mouseButton: { button, pressed: now } });
    }
    this.#buttonsDown = buttons & 31;
  }

  /** Records the pointer position in canvas (device) pixels, clamped to the canvas. */
  #track(e: MouseEvent): void {
    const rect = this.#canvas.getBoundingClientRect();
    const { width, height } = this.#canvas;
    if (rect.width === 0 || rect.height === 0) return;
    // Canvas pixels are device pixels; scaling by the rect also absorbs rounding of the CSS size.
    const x = clamp(Math.floor(((e.clientX - rect.left) * width) / rect.width), width - 1);
    const y = clamp(Math.floor(((e.clientY - rect.top) * height) / rect.height), height - 1);
    this.#pendingMove = { x, y };
  }

  #flushMove(): void {
    cancelAnimationFrame(this.#moveFrame);
    this.#moveFrame = 0;
    const move = this.#pendingMove;
    this.#pendingMove = null;
    if (move === null || (this.#lastMove?.x === move.x && this.#lastMove.y === move.y)) return;
    this.#lastMove = move;
    this.#emit({ mouseMove: move });
  }

  #onWheel(e: WheelEvent): void {
    e.preventDefault();
    if (!this.#enabled) return;
    this.#track(e);
    this.#flushMove();
    const pixels =
      e.deltaMode === WheelEvent.DOM_DELTA_LINE ? WHEEL_LINE_PIXELS
      : e.deltaMode === WheelEvent.DOM_DELTA_PAGE ? WHEEL_PAGE_PIXELS
      : 1;
    // TDPB: positive scrolls up or left, the opposite of DOM deltas.
    this.#wheelY -= e.deltaY * pixels * WHEEL_UNITS_PER_PIXEL;
    this.#wheelX -= e.deltaX * pixels * WHEEL_UNITS_PER_PIXEL;
    this.#wheelY = this.#sendWheel(MouseWheelAxis.VERTICAL, this.#wheelY);
    this.#wheelX = this.#sendWheel(MouseWheelAxis.HORIZONTAL, this.#wheelX);
  }

  /** Sends the whole units of `amount` and returns the remainder to carry. */
  #sendWheel(axis: MouseWheelAxis, amount: number): number {
    const delta = Math.trunc(amount);
    if (delta !== 0) this.#emit({ mouseWheel: { axis, delta } });
    return amount - delta;
  }

  #onKey(e: KeyboardEvent, down: boolean): void {
    // IME composition belongs to the browser; the desktop gets no half-built
    // characters, only the text once it is composed. 229 is a key the input method took.
    if (e.isComposing || e.keyCode === 229 || e.key === 'Process') return;
    const keyCode = scancode(e.code);
    if (keyCode === undefined) {
      // A key known only by its character: without an EditContext its text would be lost.
      if (down && this.#editContext === null && isCharacter(e)) {
        e.preventDefault();
        this.#sendText(e.key);
      }
      return;
    }
    e.preventDefault();
    if (!this.#enabled) return;
    if (!isLockKey(e.code)) this.#sync(e);
    if (down) {
      this.#keysDown.add(keyCode);
      this.#emit({ keyboardButton: { keyCode, pressed: true } });
    } else if (this.#keysDown.delete(keyCode)) {
      this.#emit({ keyboardButton: { keyCode, pressed: false } });
    } else if (e.code === 'PrintScreen') {
      // Some platforms swallow PrintScreen's keydown and deliver only the keyup.
      this.#emit({ keyboardButton: { keyCode, pressed: true } });
      this.#emit({ keyboardButton: { keyCode, pressed: false } });
    }
  }

  /** Sends what the input method committed, and empties its buffer for the next. */
  #takeText(): void {
    const context = this.#editContext;
    if (context === null) return;
    const text = context.text;
    context.updateText(0, text.length, '');
    context.updateSelection(0, 0);
    this.#sendText(text);
  }

  #sendText(text: string): void {
    if (text === '' || !this.#enabled) return;
    for (const chunk of utf8Chunks(text, MAX_KEYBOARD_TEXT_BYTES)) this.#emit({ keyboardText: { text: chunk } });
  }

  #sync(e: MouseEvent | KeyboardEvent): void {
    if (!this.#needSync) return;
    this.#needSync = false;
    this.#emit({
      syncKeys: {
        scrollLock: e.getModifierState('ScrollLock'),
        numLock: e.getModifierState('NumLock'),
        capsLock: e.getModifierState('CapsLock'),
        kanaLock: false,
      },
    });
  }
}

/** beforeinput types that are typing; pastes, drops and deletions are not. */
const TYPED: ReadonlySet<string> = new Set(['insertText', 'insertCompositionText', 'insertReplacementText']);

/** The part of EditContext (Chromium 121+) this uses; TypeScript's DOM types lack it. */
interface EditContextLike extends EventTarget {
  readonly text: string;
  updateText(start: number, end: number, text: string): void;
  updateSelection(start: number, end: number): void;
}

declare global {
  interface HTMLCanvasElement {
    editContext?: EditContextLike | null;
  }
}

/** Gives the canvas an EditContext, so an input method can compose on it; null where there is none. */
function attachEditContext(canvas: HTMLCanvasElement): EditContextLike | null {
  const EditContext = (window as unknown as { EditContext?: new () => EditContextLike }).EditContext;
  if (EditContext === undefined) return null;
  try {
    const context = new EditContext();
    canvas.editContext = context;
    return context;
  } catch {
    return null;
  }
}

/** A key that types one character by itself (no Ctrl or Meta shortcut). */
function isCharacter(e: KeyboardEvent): boolean {
  return [...e.key].length === 1 && !/\p{Cc}/u.test(e.key) && !e.ctrlKey && !e.metaKey;
}

/** `text` in pieces of at most `maxBytes` bytes of UTF-8, never splitting a character. */
function utf8Chunks(text: string, maxBytes: number): string[] {
  const chunks: string[] = [];
  const encoder = new TextEncoder();
  let chunk = '';
  let bytes = 0;
  for (const char of text) {
    const size = encoder.encode(char).length;
    if (bytes + size > maxBytes && chunk !== '') {
      chunks.push(chunk);
      chunk = '';
      bytes = 0;
    }
    chunk += char;
    bytes += size;
  }
  if (chunk !== '') chunks.push(chunk);
  return chunks;
}

function clamp(value: number, max: number): number {
  return Math.min(Math.max(value, 0), Math.max(max, 0));
}
