// When to try again after a dropped connection: soon at first (a Wi-Fi
// blip heals in a second), then less often, and not past the time the
// desktop service keeps a session for its owner to come back
// (`disconnect_grace`, 10 minutes unless configured otherwise). Pure: fed
// the time, so its tests need no clock.

/** Waits between attempts, then the last one repeated. */
const DELAYS_MS = [500, 1000, 2000, 4000, 8000, 10_000] as const;
/** A little past the default grace: after it the session is gone anyway. */
export const GIVE_UP_AFTER_MS = 11 * 60_000;

export class Reconnect {
  #attempts = 0;
  #since: number | null = null;

  /** The wait before the next attempt, from the drop at `now`; null once it is no use. */
  next(now: number): number | null {
    this.#since ??= now;
    if (now - this.#since >= GIVE_UP_AFTER_MS) return null;
    const delay = DELAYS_MS[Math.min(this.#attempts, DELAYS_MS.length - 1)] ?? 10_000;
    this.#attempts += 1;
    return delay;
  }

  /** How many attempts so far. */
  get attempts(): number {
    return this.#attempts;
  }

  /** Connected again: the next drop starts over. */
  reset(): void {
    this.#attempts = 0;
    this.#since = null;
  }
}
