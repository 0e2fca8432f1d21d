// The connection's state at the left of the session toolbar: a dot and a
// line of text, the latency while connected, and Reconnect after a drop.
// #status[data-state] is what tests wait on; the stylesheet colours the
// dot from it (reconnecting is amber).
import type { LatencyStats } from '../protocol';
import type { SessionState } from '../session';

export class StatusBar {
  readonly #root: HTMLElement;
  readonly #text: HTMLElement;
  readonly #latency: HTMLElement;
  readonly #reconnect: HTMLButtonElement;
  readonly #changed: (state: SessionState) => void;
  #onReconnect: (() => void) | null = null;

  /** `changed` hears each state shown, e.g. for the toolbar to offer only what the state allows. */
  constructor(root: HTMLElement, changed: (state: SessionState) => void = () => {}) {
    this.#root = root;
    this.#changed = changed;
    this.#text = part(root, '.status-text');
    this.#latency = part(root, '.status-latency');
    this.#reconnect = part(root, '.status-reconnect') as HTMLButtonElement;
    this.#reconnect.addEventListener('click', () => this.#onReconnect?.());
  }

  show(state: SessionState, text: string): void {
    this.#root.dataset['state'] = state;
    this.#text.textContent = text;
    // A narrow toolbar cuts a long reason short; the whole of it is a hover away.
    this.#text.title = text;
    if (state !== 'connected') this.latency(null);
    if (state !== 'closed') this.offerReconnect(null);
    this.#changed(state);
  }

  latency(stats: LatencyStats | null): void {
    this.#latency.textContent =
      stats === null ? '' : `browser–proxy ${stats.clientMs} ms · proxy–desktop ${stats.serverMs} ms`;
  }

  /** Shows the Reconnect button (null hides it). */
  offerReconnect(onReconnect: (() => void) | null): void {
    this.#onReconnect = onReconnect;
    this.#reconnect.hidden = onReconnect === null;
  }
}

function part(root: HTMLElement, selector: string): HTMLElement {
  const element = root.querySelector<HTMLElement>(selector);
  if (element === null) throw new Error(`#status has no ${selector}`);
  return element;
}
