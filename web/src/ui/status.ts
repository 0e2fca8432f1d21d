// The connection's state at the left of the session toolbar: a dot and a
// line of text, the latency while connected, and Reconnect after a drop.
// #status[data-state] is what tests wait on; the stylesheet colours the
// dot from it (reconnecting is amber).
import { linkState } from '../link-state';
import type { LatencyStats, LinkEstimate } from '../protocol';
import type { SessionState } from '../session';

export class StatusBar {
  readonly #root: HTMLElement;
  readonly #text: HTMLElement;
  readonly #latency: HTMLElement;
  readonly #link: HTMLElement;
  readonly #reconnect: HTMLButtonElement;
  readonly #changed: (state: SessionState) => void;
  #onReconnect: (() => void) | null = null;

  /** `changed` hears each state shown, e.g. for the toolbar to offer only what the state allows. */
  constructor(root: HTMLElement, changed: (state: SessionState) => void = () => {}) {
    this.#root = root;
    this.#changed = changed;
    this.#text = part(root, '.status-text');
    this.#latency = part(root, '.status-latency');
    this.#link = part(root, '.status-link');
    this.#reconnect = part(root, '.status-reconnect') as HTMLButtonElement;
    this.#reconnect.addEventListener('click', () => this.#onReconnect?.());
  }

  show(state: SessionState, text: string): void {
    this.#root.dataset['state'] = state;
    this.#text.textContent = text;
    // A narrow toolbar cuts a long reason short; the whole of it is a hover away.
    this.#text.title = text;
    if (state !== 'connected') {
      this.latency(null);
      this.link(null);
    }
    if (state !== 'closed') this.offerReconnect(null);
    this.#changed(state);
  }

  latency(stats: LatencyStats | null): void {
    this.#latency.textContent =
      stats === null ? '' : `browser–proxy ${stats.clientMs} ms · proxy–desktop ${stats.serverMs} ms`;
  }

  /** The link's state (null clears it); #status .status-link[data-link] is 'good' or 'slow'. */
  link(estimate: LinkEstimate | null): void {
    if (estimate === null) {
      this.#link.textContent = '';
      this.#link.title = '';
      delete this.#link.dataset['link'];
      return;
    }
    const shown = linkState(estimate);
    this.#link.textContent = shown.text;
    this.#link.title = shown.title;
    this.#link.dataset['link'] = shown.state;
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
