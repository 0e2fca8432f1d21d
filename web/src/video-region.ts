// The worker's decoder of a region in motion: VP8 frames (CODEC_VP8)
// through WebCodecs' VideoDecoder, one frame out for each frame in, in
// order. A stream starts at a key frame (reset_context); a delta frame with
// no key frame before it (a viewer that joined, a seek in a recording)
// shows nothing, and the region keeps what it had until the next key frame
// or its lossless repaint.

/** A frame that does not come out in this long is a broken decoder. */
const OUTPUT_TIMEOUT_MS = 5000;

export class VideoRegionDecoder {
  #decoder: VideoDecoder | null = null;
  #size = '';
  #waiting: { resolve: (frame: VideoFrame) => void; reject: (error: Error) => void }[] = [];
  /** This browser refused VP8: nothing is decoded again. */
  #unsupported = false;

  /**
   * Decodes one VP8 frame of a `width`x`height` region; resolves with its
   * picture, or null when it cannot be shown (no key frame yet, or no
   * WebCodecs here). Rejects when the frame does not decode.
   */
  async decode(data: Uint8Array, key: boolean, width: number, height: number, timestamp: number): Promise<VideoFrame | null> {
    if (typeof VideoDecoder === 'undefined' || this.#unsupported) return null;
    const size = `${width}x${height}`;
    if (key && (this.#decoder === null || this.#decoder.state === 'closed' || size !== this.#size)) {
      this.close();
      this.#decoder = new VideoDecoder({
        output: (frame) => {
          const waiter = this.#waiting.shift();
          if (waiter === undefined) frame.close();
          else waiter.resolve(frame);
        },
        error: (error) => {
          this.#unsupported ||= error.name === 'NotSupportedError';
          this.#failAll(new Error(`VP8 decoder: ${error.message}`));
        },
      });
      // A browser that refuses VP8 after all closes the decoder here, and the region shows nothing until its exact repaint.
      this.#decoder.configure({ codec: 'vp8', codedWidth: width, codedHeight: height, optimizeForLatency: true });
      this.#size = size;
    }
    const decoder = this.#decoder;
    if (decoder === null || decoder.state !== 'configured' || size !== this.#size) return null;
    const output = new Promise<VideoFrame>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    decoder.decode(new EncodedVideoChunk({ type: key ? 'key' : 'delta', timestamp, data }));
    let timer = 0;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`VP8 decoder: no picture in ${OUTPUT_TIMEOUT_MS} ms`)), OUTPUT_TIMEOUT_MS) as unknown as number;
    });
    try {
      return await Promise.race([output, late]);
    } catch (error) {
      this.close();
      if (this.#unsupported) return null;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Drops the stream; the next one starts at a key frame. */
  close(): void {
    this.#failAll(new Error('VP8 decoder closed'));
    if (this.#decoder !== null && this.#decoder.state !== 'closed') this.#decoder.close();
    this.#decoder = null;
    this.#size = '';
  }

  #failAll(error: Error): void {
    for (const waiter of this.#waiting.splice(0)) waiter.reject(error);
  }
}
