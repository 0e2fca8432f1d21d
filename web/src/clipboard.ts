// The clipboard, shared with the desktop while ServerHello.clipboardEnabled
// says the user's roles allow it: text only, at most 1 MiB of UTF-8 each way.
//
// Browser → desktop: the local clipboard can change only while this page is
// in the background (another window or tab has the focus), so it is read
// with the async Clipboard API each time the screen gets the focus, and
// taken from a paste event aimed at the screen; text the desktop does not
// have yet goes as ClipboardData.
//
// Desktop → browser: ClipboardData is written to the local clipboard. The
// browser allows that only while the page has the focus, so text that
// arrives in the background waits for the next focus, unless the local
// clipboard changed meanwhile: the person's own, newer copy wins and goes
// to the desktop instead.
//
// Where the browser refuses (the person denied the permission, or the
// browser reads only on a paste), the clipboard panel carries text by hand.
import { MAX_CLIPBOARD_BYTES, type ClientMessage } from './protocol';

/** What the clipboard shows; ui/clipboard-panel.ts backs it with the DOM. */
export interface ClipboardView {
  /** Sharing starts: show the controls. `send` copies text to the desktop and returns why it did not, or null. */
  start(send: (text: string) => string | null): void;
  /** The desktop copied `text`. */
  desktopCopied(text: string): void;
  /** The browser refused to read or to write its clipboard: the panel is the way. */
  refused(access: 'read' | 'write'): void;
  /** Sharing is over: the session ended. */
  stop(): void;
}

export class ClipboardSync {
  readonly #canvas: HTMLElement;
  readonly #send: (message: ClientMessage) => void;
  readonly #view: ClipboardView;
  readonly #warn: (message: string) => void;
  readonly #abort = new AbortController();
  /** What the local clipboard is known to hold: what was last read or written here. */
  #local: string | null = null;
  /** What the desktop's clipboard is known to hold: what was last sent or received. */
  #desktop: string | null = null;
  /** The desktop's text, not yet written to the local clipboard. */
  #unwritten: string | null = null;
  #canRead = true;
  #canWrite = true;
  /** A read was refused: a paste key on the screen gets a hint, once. */
  #readRefused = false;
  #hinted = false;
  /** A sync under way; focus events meanwhile add nothing. */
  #syncing: Promise<void> | null = null;
  #stopped = false;

  constructor(
    canvas: HTMLElement,
    send: (message: ClientMessage) => void,
    view: ClipboardView,
    warn: (message: string) => void,
  ) {
    this.#canvas = canvas;
    this.#send = send;
    this.#view = view;
    this.#warn = warn;
    const options = { signal: this.#abort.signal };
    canvas.addEventListener('focus', () => this.#sync(), options);
    // Back from another window with the screen still focused.
    window.addEventListener('focus', () => document.activeElement === canvas && this.#sync(), options);
    document.addEventListener('paste', (e) => this.#onPaste(e), options);
    // Not a toast at the start (over the desktop, for what the person may never
    // need), but when they try to paste text the browser would not let us read.
    canvas.addEventListener('keydown', (e) => this.#readRefused && isPasteKey(e) && this.#hint(READ_REFUSED), options);
    view.start((text) => this.#share(text));
    if (document.hasFocus() && document.activeElement === canvas) this.#sync();
  }

  /** The desktop copied text (ClipboardData.data). */
  fromDesktop(data: Uint8Array): void {
    const text = new TextDecoder().decode(data);
    this.#desktop = text;
    this.#view.desktopCopied(text);
    if (text === this.#local || !this.#canWrite) return;
    this.#unwritten = text;
    if (document.hasFocus()) void this.#write(text);
  }

  /** Stops for good (the session ended). */
  dispose(): void {
    this.#stopped = true;
    this.#abort.abort();
    this.#view.stop();
  }

  #sync(): void {
    if (this.#syncing !== null || this.#stopped) return;
    this.#syncing = this.#readThenWrite().finally(() => (this.#syncing = null));
  }

  async #readThenWrite(): Promise<void> {
    if (this.#canRead) {
      const text = await this.#read();
      if (this.#stopped) return;
      if (text !== null && text !== this.#local) {
        // Copied elsewhere while this page was away: the newest copy wins.
        this.#local = text;
        this.#unwritten = null;
        if (text !== '') this.#offer(text);
        return;
      }
    }
    if (this.#unwritten !== null) await this.#write(this.#unwritten);
  }

  /** The local clipboard's text; null if it cannot be read now. */
  async #read(): Promise<string | null> {
    try {
      if (navigator.clipboard?.readText === undefined) throw new DOMException('no async Clipboard API', 'NotAllowedError');
      const text = await navigator.clipboard.readText();
      this.#readRefused = false;
      return text;
    } catch (error) {
      // Without the focus a read fails too, and may work on the next one.
      if (isNotAllowed(error) && document.hasFocus()) {
        // Still 'prompt' (the question was closed unanswered): ask again at the next focus.
        if ((await permissionState('clipboard-read')) !== 'prompt') this.#canRead = false;
        this.#readRefused = true;
        this.#view.refused('read');
      }
      return null;
    }
  }

  async #write(text: string): Promise<void> {
    try {
      if (navigator.clipboard?.writeText === undefined) throw new DOMException('no async Clipboard API', 'NotAllowedError');
      await navigator.clipboard.writeText(text);
      this.#local = text;
      if (this.#unwritten === text) this.#unwritten = null;
    } catch (error) {
      if (isNotAllowed(error) && document.hasFocus()) {
        if ((await permissionState('clipboard-write')) !== 'prompt') {
          this.#canWrite = false;
          this.#unwritten = null;
        }
        this.#view.refused('write');
        // The person just copied on the desktop: tell them where the text is.
        this.#hint(WRITE_REFUSED);
      }
    }
  }

  /** A paste aimed at the screen (not at the panel's text box) carries the text without any permission. */
  #onPaste(e: ClipboardEvent): void {
    if (e.target !== this.#canvas) return;
    e.preventDefault();
    const text = e.clipboardData?.getData('text/plain') ?? '';
    this.#local = text;
    this.#unwritten = null;
    if (text !== '') this.#offer(text);
  }

  #hint(message: string): void {
    if (this.#hinted) return;
    this.#hinted = true;
    this.#warn(message);
  }

  /** Copies text the person did not pick by hand: a refusal shows as a warning. */
  #offer(text: string): void {
    const refusal = this.#share(text);
    if (refusal !== null) this.#warn(refusal);
  }

  /** Sends `text` to the desktop; returns why not, or null. */
  #share(text: string): string | null {
    if (this.#stopped) return 'the session has ended';
    const data = new TextEncoder().encode(text);
    if (data.length > MAX_CLIPBOARD_BYTES) {
      return `the clipboard holds ${describeSize(data.length)} of text, more than the 1 MiB that can be copied to the desktop; it was not copied`;
    }
    if (text === this.#desktop) return null;
    this.#desktop = text;
    this.#send({ clipboardData: { data } });
    return null;
  }
}

const READ_REFUSED =
  'the browser does not let Oriel read your clipboard: to paste text from this computer on the desktop, use Clipboard (top right)';
const WRITE_REFUSED =
  'the browser does not let Oriel write to your clipboard: the text copied on the desktop is under Clipboard (top right)';

/** Ctrl+V, ⌘V or Shift+Insert. */
function isPasteKey(e: KeyboardEvent): boolean {
  const v = e.code === 'KeyV' || e.key === 'v' || e.key === 'V';
  return (v && (e.ctrlKey || e.metaKey) && !e.altKey) || (e.code === 'Insert' && e.shiftKey);
}

/** The permission's state; null where the browser does not name it (Firefox, for one). */
async function permissionState(name: string): Promise<PermissionState | null> {
  try {
    return (await navigator.permissions.query({ name: name as PermissionName })).state;
  } catch {
    return null;
  }
}

function isNotAllowed(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'NotAllowedError';
}

/** `1.5 MiB`, `900 KiB`, rounded up (just over 1 MiB must not read as 1 MiB). */
export function describeSize(bytes: number): string {
  const mib = 1 << 20;
  if (bytes >= mib) return `${(Math.ceil((bytes * 10) / mib) / 10).toFixed(1)} MiB`;
  return `${Math.ceil(bytes / 1024)} KiB`;
}
