// The remote screen's pixels on a canvas, one canvas pixel per remote pixel,
// each frame painted whole. A live session's Screen and the recording player
// both paint through it, and so does the player's export to a video; how
// large the canvas shows on the page is theirs.
import type { DecodedRect } from './decoder';

export class Picture {
  readonly canvas: HTMLCanvasElement;
  readonly #context: CanvasRenderingContext2D;
  /** Rects of the frame being received, painted together when it ends so no frame shows half-drawn. */
  #pending: DecodedRect[] = [];

  constructor(canvas: HTMLCanvasElement) {
    this.canvas = canvas;
    const context = canvas.getContext('2d', { alpha: false });
    if (context === null) throw new Error('no 2D canvas context');
    this.#context = context;
  }

  /** Resizes the canvas, which clears it; a keyframe of the new size follows. */
  setSize(width: number, height: number): void {
    this.#pending = [];
    this.canvas.width = width;
    this.canvas.height = height;
  }

  /** Takes a decoded rect; returns true when it completed a frame and the frame was painted. */
  paint(rect: DecodedRect): boolean {
    this.#pending.push(rect);
    if (!rect.endOfFrame) return false;
    for (const { x, y, width, height, rgba } of this.#pending) {
      this.#context.putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), x, y);
    }
    this.#pending = [];
    return true;
  }

  clear(): void {
    this.#pending = [];
    this.#context.fillStyle = '#000';
    this.#context.fillRect(0, 0, this.canvas.width, this.canvas.height);
  }
}
