// The clipboard panel: the text last copied on the desktop, and a box to
// send text to the desktop's clipboard by hand. It is how text crosses when
// the browser does not let the page use the clipboard, and a place to look
// before pasting. The Clipboard button in the session toolbar opens it; both
// stay hidden unless the session shares the clipboard.
import type { ClipboardView } from '../clipboard';
import { find, say } from '../dom';

export class ClipboardPanel implements ClipboardView {
  readonly #toggle: HTMLButtonElement;
  readonly #panel: HTMLElement;
  readonly #text: HTMLTextAreaElement;
  readonly #error: HTMLElement;
  readonly #status: HTMLElement;
  readonly #done: () => void;
  /** The button's title as index.html has it; a refusal replaces it until the next session. */
  readonly #title: string;
  #send: ((text: string) => string | null) | null = null;

  /** `done` gives the focus back to the desktop. */
  constructor(page: HTMLElement, done: () => void) {
    this.#toggle = find(page, '#clipboard-toggle', HTMLButtonElement);
    this.#panel = find(page, '#clipboard-panel', HTMLElement);
    this.#text = find(page, '#clipboard-text', HTMLTextAreaElement);
    this.#error = find(page, '#clipboard-error', HTMLElement);
    this.#status = find(page, '#clipboard-status', HTMLElement);
    this.#done = done;
    this.#title = this.#toggle.title;
    this.#toggle.addEventListener('click', () => (this.#panel.hidden ? this.#open() : this.#close()));
    find(page, '#clipboard-close', HTMLButtonElement).addEventListener('click', () => this.#close());
    find(page, '#clipboard-send', HTMLButtonElement).addEventListener('click', () => this.#sendText());
    this.#panel.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.#close();
      else if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) this.#sendText();
    });
  }

  start(send: (text: string) => string | null): void {
    this.#send = send;
    delete this.#toggle.dataset['refused'];
    this.#toggle.title = this.#title;
    this.#toggle.hidden = false;
  }

  desktopCopied(text: string): void {
    this.#text.value = text;
    say(this.#error, null);
    this.#status.textContent = 'Copied on the desktop.';
  }

  /** Marks the button: with the clipboard refused, the panel is how text crosses. */
  refused(access: 'read' | 'write'): void {
    this.#toggle.dataset['refused'] = access;
    this.#toggle.title =
      access === 'read'
        ? 'The browser does not let Oriel read your clipboard: paste text here to copy it to the desktop'
        : 'The browser does not let Oriel write to your clipboard: text copied on the desktop is here';
  }

  stop(): void {
    this.#send = null;
    this.#close(false);
    this.#toggle.hidden = true;
  }

  #open(): void {
    this.#panel.hidden = false;
    this.#toggle.setAttribute('aria-expanded', 'true');
    this.#text.focus();
    this.#text.select();
  }

  #close(giveBackFocus = true): void {
    if (this.#panel.hidden) return;
    this.#panel.hidden = true;
    this.#toggle.setAttribute('aria-expanded', 'false');
    if (giveBackFocus) this.#done();
  }

  #sendText(): void {
    if (this.#send === null) return;
    const refusal = this.#text.value === '' ? 'there is no text to send' : this.#send(this.#text.value);
    say(this.#error, refusal);
    this.#status.textContent = refusal === null ? 'Sent to the desktop.' : '';
  }
}
