// The recorded user's mouse over the player's picture: the cursor's shape
// where the MouseMove records put it, and a ring where a button went down.
// It is an element over the canvas, not pixels in it, so the canvas holds
// exactly what the desktop sent, as in a live session.
// Positions are percentages of the stage, so they follow any fitted size.
import { cursorPng } from '../cursor';
import type { CursorImage } from '../protocol';

type Shape = Pick<CursorImage, 'width' | 'height' | 'hotspotX' | 'hotspotY'>;

export class RemoteCursor {
  readonly #stage: HTMLElement;
  readonly #canvas: HTMLCanvasElement;
  readonly #image: HTMLImageElement;
  #shape: Shape | null = null;
  #at: { x: number; y: number } | null = null;

  constructor(stage: HTMLElement, canvas: HTMLCanvasElement, image: HTMLImageElement) {
    this.#stage = stage;
    this.#canvas = canvas;
    this.#image = image;
  }

  shape(cursor: CursorImage): void {
    const png = cursorPng(cursor);
    const { width, height, hotspotX, hotspotY } = cursor;
    this.#shape = png === null ? null : { width, height, hotspotX: Math.min(hotspotX, width - 1), hotspotY: Math.min(hotspotY, height - 1) };
    if (png !== null) this.#image.src = png;
    this.#place();
  }

  moveTo(x: number, y: number): void {
    this.#at = { x, y };
    this.#place();
  }

  /** The recorded screen changed size: the same pixel is elsewhere in percent. */
  resized(): void {
    this.#place();
  }

  click(pressed: boolean): void {
    if (!pressed || this.#at === null) return;
    const ring = document.createElement('span');
    ring.className = 'remote-click';
    ring.style.left = this.#percentX(this.#at.x);
    ring.style.top = this.#percentY(this.#at.y);
    ring.addEventListener('animationend', () => ring.remove());
    this.#stage.append(ring);
  }

  /** A seek: where the mouse is and what it looks like are unknown until the records say. */
  reset(): void {
    this.#shape = null;
    this.#at = null;
    this.#image.hidden = true;
    for (const ring of this.#stage.querySelectorAll('.remote-click')) ring.remove();
  }

  #place(): void {
    const shape = this.#shape;
    const at = this.#at;
    this.#image.hidden = shape === null || at === null;
    if (shape === null || at === null) return;
    const style = this.#image.style;
    style.left = this.#percentX(at.x);
    style.top = this.#percentY(at.y);
    style.width = this.#percentX(shape.width);
    style.transform = `translate(${(-100 * shape.hotspotX) / shape.width}%, ${(-100 * shape.hotspotY) / shape.height}%)`;
  }

  #percentX(x: number): string {
    return `${(100 * x) / Math.max(this.#canvas.width, 1)}%`;
  }

  #percentY(y: number): string {
    return `${(100 * y) / Math.max(this.#canvas.height, 1)}%`;
  }
}
