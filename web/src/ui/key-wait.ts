// While the browser asks for a security key or passkey: a status line saying
// so, and Cancel, which withdraws the request. Without it a key that is not
// at hand (or a browser that shows no prompt of its own) would keep the page
// waiting for the ceremony's whole timeout, five minutes.
// The box is `.key-wait` with a `button` inside, outside the form that is busy.
import { find } from '../dom';

export interface KeyWait {
  /** Aborted by Cancel. */
  readonly signal: AbortSignal;
  /** Hides the box; call when the ceremony is over, either way. */
  end(): void;
}

function waitForKey(box: HTMLElement): KeyWait {
  const controller = new AbortController();
  const cancel = find(box, 'button', HTMLButtonElement);
  const withdraw = (): void => controller.abort();
  cancel.addEventListener('click', withdraw);
  cancel.disabled = false;
  box.hidden = false;
  return {
    signal: controller.signal,
    end() {
      cancel.removeEventListener('click', withdraw);
      box.hidden = true;
    },
  };
}

/** Runs `ask` with the wait shown in `box`, and hides it however `ask` ends. */
export async function whileWaitingForKey<T>(box: HTMLElement, ask: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const wait = waitForKey(box);
  try {
    return await ask(wait.signal);
  } finally {
    wait.end();
  }
}
