// The small status bar: connection state, latency, and Reconnect after a drop.
// #status[data-state] is what tests wait on.
import type { LatencyStats } from '../protocol';
import type { SessionState } from '../session';

export class StatusBar {
  readonly #root: HTMLElement;
  readonly #text: HTMLElement;
  readonly #latency: HTMLElement;
  readonly #reconnect: HTMLButtonElement;
  #onReconnect: (() => void) | null = null;

  constructor(root: HTMLElement) {
    this.#root = root;
    this.#text = part(root, '.status-text');
    this.#latency = part(root, '.status-latency');
    this.#reconnect = part(root, '.status-reconnect') as HTMLButtonElement;
    this.#reconnect.addEventListener('click', () => this.#onReconnect?.());
  }

  show(state: SessionState, text: string): void {
    this.#root.dataset['state'] = state;
    this.#text.textContent = text;
    if (state !== 'connected') this.latency(null);
    if (state !== 'closed') this.offerReconnect(null);
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
