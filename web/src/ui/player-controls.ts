// The player's controls: play/pause, the timeline (a range input in ms),
// the time, the speed. Test hooks: #player-play, #player-timeline,
// #player-time, #player-speed.
import { find } from '../dom';
import { formatDuration } from '../duration';
import { SPEEDS, type Speed } from '../playback-clock';
import type { PlayerState } from '../player';

export interface PlayerActions {
  play(): void;
  pause(): void;
  seek(ms: number): void;
  speed(speed: Speed): void;
}

export class PlayerControls {
  readonly #play: HTMLButtonElement;
  readonly #timeline: HTMLInputElement;
  readonly #time: HTMLElement;
  readonly #speed: HTMLSelectElement;
  readonly #duration: number;
  #state: PlayerState = 'loading';
  /** While the timeline is dragged it shows where the user points, not where playback is. */
  #dragging = false;

  constructor(root: HTMLElement, duration: number, actions: PlayerActions) {
    this.#play = find(root, '#player-play', HTMLButtonElement);
    this.#timeline = find(root, '#player-timeline', HTMLInputElement);
    this.#time = find(root, '#player-time', HTMLElement);
    this.#speed = find(root, '#player-speed', HTMLSelectElement);
    this.#duration = duration;

    this.#timeline.max = String(duration);
    this.#speed.replaceChildren(...SPEEDS.map((speed) => new Option(`${speed}×`, String(speed), speed === 1, speed === 1)));
    this.#play.addEventListener('click', () => (this.#state === 'playing' ? actions.pause() : actions.play()));
    this.#timeline.addEventListener('input', () => {
      this.#dragging = true;
      this.#showTime(Number(this.#timeline.value));
    });
    // A seek per release, not per pixel dragged: each one restarts the decoder.
    this.#timeline.addEventListener('change', () => {
      this.#dragging = false;
      actions.seek(Number(this.#timeline.value));
    });
    this.#speed.addEventListener('change', () => actions.speed(Number(this.#speed.value) as Speed));
  }

  show(state: PlayerState): void {
    this.#state = state;
    const playing = state === 'playing';
    this.#play.textContent = playing ? 'Pause' : state === 'ended' ? 'Replay' : 'Play';
    const broken = state === 'error';
    this.#play.disabled = broken;
    this.#timeline.disabled = broken;
    this.#speed.disabled = broken;
  }

  position(ms: number): void {
    if (this.#dragging) return;
    this.#timeline.value = String(ms);
    this.#showTime(ms);
  }

  #showTime(ms: number): void {
    this.#time.textContent = `${formatDuration(ms)} / ${formatDuration(this.#duration)}`;
  }
}
