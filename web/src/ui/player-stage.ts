// The player's picture in the room the page leaves it: the recorded screen
// at one of its pixels per device pixel, as the live session showed it, or
// smaller to fit; never larger. The stage holds the canvas and what is drawn
// over it (cursor, alerts), so they scale together.
export class PlayerStage {
  readonly #room: HTMLElement;
  readonly #stage: HTMLElement;
  readonly #canvas: HTMLCanvasElement;

  constructor(room: HTMLElement, stage: HTMLElement, canvas: HTMLCanvasElement) {
    this.#room = room;
    this.#stage = stage;
    this.#canvas = canvas;
    new ResizeObserver(() => this.fit()).observe(room);
  }

  /** Sizes the stage for the canvas's size and the room's. */
  fit(): void {
    const ratio = window.devicePixelRatio || 1;
    const width = this.#canvas.width / ratio;
    const height = this.#canvas.height / ratio;
    const scale = Math.min(1, this.#room.clientWidth / width, this.#room.clientHeight / height);
    this.#stage.style.width = `${width * scale}px`;
    this.#stage.style.height = `${height * scale}px`;
  }
}
