// The player's position in a recording: it runs at a speed from wall time,
// pauses, and jumps. The wall clock is passed in (performance.now in the
// page, a number the test moves), so tests run without waiting.

/** The speeds offered, as multiples of real time. */
export const SPEEDS = [0.25, 0.5, 1, 2, 4, 8, 16] as const;
export type Speed = (typeof SPEEDS)[number];

export class PlaybackClock {
  readonly #now: () => number;
  /** The recording's duration: the position stops there. */
  readonly #end: number;
  #speed: Speed = 1;
  #running = false;
  /** The position at #since (wall time); while running it moves on from there. */
  #at = 0;
  #since: number;

  constructor(now: () => number, end: number) {
    this.#now = now;
    this.#end = end;
    this.#since = now();
  }

  /** Where playback is, in ms from the recording's start. */
  position(): number {
    if (!this.#running) return this.#at;
    return Math.min(this.#at + (this.#now() - this.#since) * this.#speed, this.#end);
  }

  get running(): boolean {
    return this.#running;
  }

  get end(): number {
    return this.#end;
  }

  play(): void {
    if (this.#running) return;
    this.#rebase();
    this.#running = true;
  }

  pause(): void {
    if (!this.#running) return;
    this.#rebase();
    this.#running = false;
  }

  /** From now on; what has been played keeps its place. */
  setSpeed(speed: Speed): void {
    this.#rebase();
    this.#speed = speed;
  }

  /** Moves to `position` (kept within the recording), running or not. */
  seek(position: number): void {
    this.#at = Math.min(Math.max(position, 0), this.#end);
    this.#since = this.#now();
  }

  /**
   * Wall-clock ms until the position reaches `t` (or the end, if `t` is
   * past it): 0 once there, Infinity while paused short of it.
   */
  timeUntil(t: number): number {
    const remaining = Math.min(t, this.#end) - this.position();
    if (remaining <= 0) return 0;
    return this.#running ? remaining / this.#speed : Infinity;
  }

  #rebase(): void {
    this.#at = this.position();
    this.#since = this.#now();
  }
}
