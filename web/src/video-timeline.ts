// When an exported video samples the recorded screen: at a constant rate
// from the start, and once more at the recording's end. A WebM file lasts
// until its last frame's timestamp (the muxer writes the segment's duration
// as the last frame's timestamp plus that frame's duration, and a frame from
// the encoder has none), so that last frame makes the video exactly as long
// as the recording. Pure, so the timing is tested without a browser.
//
// A frame at moment t shows every record up to and including t, as the
// player does at position t; records are applied in file order, and each
// frame is taken just before the first record after its moment.
//
// WebM keeps times in whole milliseconds, and mediabunny rounds to the
// nearest: a tick a fraction of a millisecond before the end would land on
// the end frame's millisecond. The frames' timestamps are whole milliseconds
// here, each tick's cut down, so what the file keeps is what is given.

export interface VideoFrameTime {
  /** 0 for the first frame, then one more for each. */
  index: number;
  /** The recording's moment the frame shows, in ms (fractional between whole ms). */
  atMs: number;
  /** Its timestamp in the video, in µs (WebCodecs' unit), a whole millisecond. */
  timestampUs: number;
}

export class VideoTimeline {
  /** Frames in all, the one at the end included. */
  readonly count: number;
  readonly #durationMs: number;
  readonly #fps: number;
  /** The next frame to sample. */
  #next = 0;

  constructor(durationMs: number, fps: number) {
    this.#durationMs = durationMs;
    this.#fps = fps;
    // The frames at a constant rate strictly before the end, then the end's.
    this.count = Math.ceil((durationMs * fps) / 1000) + 1;
  }

  /** The frames to sample before a record of `delayMs` is applied: those not yet sampled whose moment comes before it. */
  before(delayMs: number): VideoFrameTime[] {
    const frames: VideoFrameTime[] = [];
    while (this.#next < this.count && this.#frame(this.#next).atMs < delayMs) frames.push(this.#frame(this.#next++));
    return frames;
  }

  /** The frames left once every record is applied. */
  rest(): VideoFrameTime[] {
    return this.before(Infinity);
  }

  #frame(index: number): VideoFrameTime {
    if (index === this.count - 1) return { index, atMs: this.#durationMs, timestampUs: this.#durationMs * 1000 };
    const atMs = (index * 1000) / this.#fps;
    return { index, atMs, timestampUs: Math.floor(atMs) * 1000 };
  }
}
