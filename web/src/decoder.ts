// The session's side of decoder.worker.ts.
import type { DecodedPiece, DecodeRequest, DecodeResult } from './decoder-messages';
import type { FrameRect } from './protocol';

export type { DecodedPiece } from './decoder-messages';

export interface DecoderEvents {
  /** One rect's outcome, in the order the rects were queued: decoded, corrupt or skipped. */
  piece(piece: DecodedPiece): void;
  /** The decoder gave up; nothing more will be decoded. */
  error(message: string): void;
}

export class FrameDecoder {
  readonly #worker: Worker;
  #closed = false;

  constructor(events: DecoderEvents) {
    this.#worker = new Worker(new URL('./decoder.worker.ts', import.meta.url), { type: 'module' });
    this.#worker.onmessage = (event: MessageEvent<DecodeResult>) => {
      if (this.#closed) return;
      const result = event.data;
      if (result.kind === 'error') events.error(result.message);
      else if (result.kind !== 'ready') events.piece(result);
    };
    this.#worker.onerror = (event) => {
      if (!this.#closed) events.error(`frame decoder failed: ${event.message || 'worker error'}`);
    };
  }

  /**
   * Queues a rect. Its data's whole underlying buffer (the websocket message
   * it arrived in) is transferred, not copied: the caller must not touch it again.
   */
  decode(rect: FrameRect): void {
    const { frameId, x, y, width, height, codec, resetContext, endOfFrame, data } = rect;
    const request: DecodeRequest = {
      frameId, x, y, width, height, codec, resetContext, endOfFrame,
      buffer: data.buffer as ArrayBuffer,
      offset: data.byteOffset,
      length: data.byteLength,
    };
    this.#worker.postMessage(request, [request.buffer]);
  }

  dispose(): void {
    this.#closed = true;
    this.#worker.terminate();
  }
}
