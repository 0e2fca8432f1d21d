// Promises that resolve once a condition holds: a replay waits on the clock
// and on the decoder, and neither tells when it gets there by itself.

export class Waits {
  readonly #checks = new Set<() => void>();

  /**
   * Resolves once `wait()` says 0 ms are left. It is asked again when that
   * time has passed and whenever wake() says something changed (Infinity:
   * only then). Rejects when `signal` aborts.
   */
  until(signal: AbortSignal, wait: () => number): Promise<void> {
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const check = (): void => {
        clearTimeout(timer);
        const ms = signal.aborted ? 0 : wait();
        if (ms > 0) {
          if (ms !== Infinity) timer = setTimeout(check, ms);
          return;
        }
        this.#checks.delete(check);
        signal.removeEventListener('abort', check);
        if (signal.aborted) reject(signal.reason);
        else resolve();
      };
      this.#checks.add(check);
      signal.addEventListener('abort', check);
      check();
    });
  }

  /** Something a wait may be waiting for changed. */
  wake(): void {
    for (const check of [...this.#checks]) check();
  }
}
