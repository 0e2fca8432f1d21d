// The remote screen's pixels on a canvas, one canvas pixel per remote pixel,
// each frame painted whole. A live session's Screen and the recording player
// both paint through it, and so does the player's export to a video; how
// large the canvas shows on the page is theirs.
import type { DecodedOps, DecodedPiece, DecodedRect, DecodedVideo } from './decoder-messages';
import { parseFrameOps } from './frame-ops';

/**
 * What a piece did to its frame: `pending`, the frame goes on; `painted`, it
 * ended and shows; `dropped`, it ended with a piece that did not decode, so
 * none of it shows. A frame that ended is acknowledged either way.
 */
export type FrameOutcome = 'pending' | 'painted' | 'dropped';

export class Picture {
  readonly canvas: HTMLCanvasElement;
  readonly #context: CanvasRenderingContext2D;
  /** Decoded pieces of the frame being received, painted together when it ends so no frame shows half-drawn. */
  #pending: (DecodedRect | DecodedOps | DecodedVideo)[] = [];
  /** A piece of the frame being received did not decode: the frame is dropped when it ends. */
  #dropping = false;
  /** Regions copied on the canvas so far (a scroll sent as a copy, not as pixels). */
  #copies = 0;
  /** Video frames of regions in motion painted so far. */
  #videoFrames = 0;

  constructor(canvas: HTMLCanvasElement) {
    this.canvas = canvas;
    const context = canvas.getContext('2d', { alpha: false });
    if (context === null) throw new Error('no 2D canvas context');
    this.#context = context;
  }

  /** Resizes the canvas, which clears it; a keyframe of the new size follows. */
  setSize(width: number, height: number): void {
    this.#forget();
    this.canvas.width = width;
    this.canvas.height = height;
  }

  /** Takes a decoder's piece; paints its frame once the piece ends it, unless a piece of it did not decode. */
  paint(piece: DecodedPiece): FrameOutcome {
    if (piece.kind === 'corrupt' || piece.kind === 'skipped') {
      // Half a frame over a picture it was not meant for is worse than the last whole one.
      this.#release();
      this.#dropping = true;
    } else if (!this.#dropping) {
      this.#pending.push(piece);
    } else if (piece.kind === 'video') {
      piece.frame?.close();
    }
    if (!piece.endOfFrame) return 'pending';
    const pieces = this.#pending;
    const dropped = this.#dropping;
    // Taken before they are forgotten: forgetting closes video pictures.
    this.#pending = [];
    this.#forget();
    if (dropped) return 'dropped';
    for (const decoded of pieces) {
      if (decoded.kind === 'rect') this.#put(decoded.rgba, decoded.x, decoded.y, decoded.width, decoded.height);
      else if (decoded.kind === 'video') this.#video(decoded);
      else this.#apply(decoded.ops);
    }
    return 'painted';
  }

  /** How many copy operations have been applied: what the end-to-end tests check scrolling by. */
  get copies(): number {
    return this.#copies;
  }

  /** How many video frames have been painted: what the end-to-end tests check regions in motion by. */
  get videoFrames(): number {
    return this.#videoFrames;
  }

  clear(): void {
    this.#forget();
    this.#context.fillStyle = '#000';
    this.#context.fillRect(0, 0, this.canvas.width, this.canvas.height);
  }

  /** A session frame's operations, in order: a copy reads what the operations before it left. */
  #apply(ops: ArrayBuffer): void {
    for (const op of parseFrameOps(ops)) {
      const { x, y, width, height } = op;
      if (op.kind === 'paint') {
        this.#put(op.rgba, x, y, width, height);
      } else {
        // The canvas drawn onto itself is read whole before it is written, so an overlapping region (a scroll) copies right.
        this.#context.drawImage(this.canvas, op.srcX, op.srcY, width, height, x, y, width, height);
        this.#copies++;
      }
    }
  }

  #put(rgba: ArrayBuffer | Uint8ClampedArray<ArrayBuffer>, x: number, y: number, width: number, height: number): void {
    const pixels = rgba instanceof ArrayBuffer ? new Uint8ClampedArray(rgba) : rgba;
    this.#context.putImageData(new ImageData(pixels, width, height), x, y);
  }

  /** A region's picture, scaled to nothing: the region is the frame's own size. */
  #video({ frame, x, y, width, height }: DecodedVideo): void {
    if (frame === null) return;
    this.#context.drawImage(frame, x, y, width, height);
    frame.close();
    this.#videoFrames++;
  }

  /** The frame being received is gone (the canvas changed, or the frame ended). */
  #forget(): void {
    this.#release();
    this.#dropping = false;
  }

  /** Lets go of the pending pieces; video pictures hold decoder memory until closed. */
  #release(): void {
    for (const piece of this.#pending) if (piece.kind === 'video') piece.frame?.close();
    this.#pending = [];
  }
}
