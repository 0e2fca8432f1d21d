// The recorded screen as a replay draws it: the screen sizes and frame
// rects of a recording, through the live session's decoder worker, painted
// on a Picture. The player shows it; the export samples it into a video.
//
// A recording has no frame acks to slow it down, so the screen says when
// the decoder has fallen behind (draw waits) and when all it was handed is
// painted (painted), which a replay needs before it shows a moment.
import { FrameDecoder } from './decoder';
import type { Picture } from './picture';
import type { FrameRect } from './protocol';
import { RecordingFormatError } from './recording-format';
import { Waits } from './waits';

/**
 * Rects handed to the decoder and not yet painted, at most: past this, a
 * replay waits for the decoder, so a fast one cannot queue the whole file
 * in the worker.
 */
const MAX_DECODING = 256;

export interface RecordedScreenEvents {
  /** The decoder gave up: nothing more will be painted. */
  failed(message: string): void;
}

export class RecordedScreen {
  readonly picture: Picture;
  readonly #events: RecordedScreenEvents;
  readonly #waits = new Waits();
  #decoder: FrameDecoder | null = null;
  #decoding = 0;
  /** A screen size has been applied since the last start over. */
  #sized = false;

  constructor(picture: Picture, events: RecordedScreenEvents) {
    this.picture = picture;
    this.#events = events;
  }

  /** A fresh decoder (the stream codec's state is the old position's) and a blank picture. */
  startOver(): void {
    this.#decoder?.dispose();
    this.#decoding = 0;
    this.#sized = false;
    this.#decoder = new FrameDecoder({
      piece: (piece) => {
        this.#decoding--;
        // A recording cannot ask for a keyframe: a frame in it that does not
        // decode ends the replay, as a damaged file does (the rects skipped
        // after it only drop their frames, on a picture no longer shown).
        if (piece.kind === 'corrupt') return this.#events.failed(piece.message);
        this.picture.paint(piece);
        this.#waits.wake();
      },
      error: (message) => this.#events.failed(message),
    });
    this.picture.clear();
  }

  /** A ServerHello's or ClientScreenSpec's size. */
  async resize(width: number, height: number, signal: AbortSignal): Promise<void> {
    // Rects of the old size still in the decoder are painted first, on the canvas they were meant for.
    await this.painted(signal);
    this.picture.setSize(width, height);
    this.#sized = true;
  }

  /** Hands the rect of the record at `offset` to the decoder; it is painted when decoded (its frame, when whole). */
  async draw(rect: FrameRect, offset: number, signal: AbortSignal): Promise<void> {
    if (!this.#sized) throw new RecordingFormatError(`the record at offset ${offset} is a frame before any screen size`);
    if (this.#decoding >= MAX_DECODING) await this.#waits.until(signal, () => (this.#decoding < MAX_DECODING / 2 ? 0 : Infinity));
    this.#decoding++;
    this.#decoder?.decode(rect);
  }

  /** Resolves once every rect handed to the decoder is painted. */
  painted(signal: AbortSignal): Promise<void> {
    return this.#waits.until(signal, () => (this.#decoding === 0 ? 0 : Infinity));
  }

  dispose(): void {
    this.#decoder?.dispose();
    this.#decoder = null;
  }
}
