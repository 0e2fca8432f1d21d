// A WebM video made in the page: pictures drawn on a canvas of the video's
// size, encoded by the browser's own VP9 or VP8 encoder (WebCodecs), muxed
// by webm-muxer into a Blob. No ffmpeg.wasm: a few kilobytes of muxer, and
// the encoder the browser already has.
import { Muxer, StreamTarget } from 'webm-muxer';
import { BlobFile } from './blob-file';
import type { ScreenSize } from './video-size';
import type { VideoFrameTime } from './video-timeline';

/** Each codec's name in WebCodecs and in WebM, the better first: VP9 keeps the same picture in fewer bytes. */
const CODECS = [
  { webCodecs: 'vp09.00.10.08', webm: 'V_VP9' },
  { webCodecs: 'vp8', webm: 'V_VP8' },
] as const;
/**
 * Frames handed to the encoder and not yet encoded, at most: each holds a
 * whole picture, so past this the export waits for the encoder rather than
 * queue the recording's pictures in memory.
 */
const MAX_ENCODING = 8;
/** A keyframe at least this often, in seconds of video, so a video player seeks without decoding from the start. */
const KEYFRAME_SECONDS = 10;
/** Bits a second per pixel and frame a second: text stays sharp, and a still screen costs little at a variable rate. */
const BITS_PER_PIXEL = 0.1;
/** What webm-muxer gathers before handing bytes over: few Blob parts, little memory. */
const MUXER_CHUNK_LEN = 4 << 20;

/** Says why this browser cannot make a video, before any time goes into reading the recording. */
export function checkVideoEncoder(): void {
  if (typeof VideoEncoder === 'undefined' || typeof OffscreenCanvas === 'undefined') {
    throw new Error(
      'this browser has no WebCodecs video encoder (VideoEncoder); export works in current Chrome, Edge, Firefox and Safari, on an https:// page',
    );
  }
}

export class WebmVideo {
  readonly #encoder: VideoEncoder;
  readonly #muxer: Muxer<StreamTarget>;
  readonly #file = new BlobFile();
  readonly #canvas: OffscreenCanvas;
  readonly #context: OffscreenCanvasRenderingContext2D;
  readonly #keyframeEvery: number;
  /** What stopped the encoder or the muxer; their callbacks cannot throw to the export. */
  #failure: unknown = null;

  /** A video of `size` at `fps` frames a second, in the best codec this browser encodes at that size. */
  static async open(size: ScreenSize, fps: number): Promise<WebmVideo> {
    checkVideoEncoder();
    for (const codec of CODECS) {
      const config: VideoEncoderConfig = {
        codec: codec.webCodecs,
        width: size.width,
        height: size.height,
        framerate: fps,
        bitrate: Math.round(size.width * size.height * fps * BITS_PER_PIXEL),
        // A desktop: text and flat areas, which the encoder keeps sharp when told.
        contentHint: 'text',
      };
      const { supported } = await VideoEncoder.isConfigSupported(config);
      if (supported === true) return new WebmVideo(config, codec, fps);
    }
    throw new Error(`this browser cannot encode a ${size.width}×${size.height} video as VP9 or VP8`);
  }

  private constructor(config: VideoEncoderConfig, codec: (typeof CODECS)[number], fps: number) {
    this.#keyframeEvery = fps * KEYFRAME_SECONDS;
    this.#canvas = new OffscreenCanvas(config.width, config.height);
    const context = this.#canvas.getContext('2d', { alpha: false });
    if (context === null) throw new Error('no 2D context for an OffscreenCanvas');
    this.#context = context;
    this.#context.fillStyle = '#000';
    this.#muxer = new Muxer({
      target: new StreamTarget({
        onData: (bytes, position) => this.#file.write(bytes, position),
        chunked: true,
        chunkSize: MUXER_CHUNK_LEN,
      }),
      video: { codec: codec.webm, width: config.width, height: config.height, frameRate: fps },
    });
    this.#encoder = new VideoEncoder({
      output: (chunk, meta) => {
        try {
          this.#muxer.addVideoChunk(chunk, meta);
        } catch (error) {
          this.#failure ??= error;
        }
      },
      error: (error) => {
        this.#failure ??= error;
      },
    });
    this.#encoder.configure(config);
  }

  /** Adds `picture` as the frame at `frame`'s time, at the top-left on black when it is smaller than the video. */
  async add(picture: CanvasImageSource, frame: VideoFrameTime): Promise<void> {
    this.#throwIfFailed();
    this.#context.fillRect(0, 0, this.#canvas.width, this.#canvas.height);
    this.#context.drawImage(picture, 0, 0);
    const video = new VideoFrame(this.#canvas, { timestamp: frame.timestampUs });
    try {
      this.#encoder.encode(video, { keyFrame: frame.index % this.#keyframeEvery === 0 });
    } catch (error) {
      // An encoder that failed refuses frames; what made it fail is the news.
      this.#throwIfFailed();
      throw error;
    } finally {
      video.close();
    }
    if (this.#encoder.encodeQueueSize > MAX_ENCODING) await this.#flush();
  }

  /** The finished file, once every frame is encoded. */
  async finish(): Promise<Blob> {
    await this.#flush();
    this.#muxer.finalize();
    return this.#file.blob('video/webm');
  }

  /** Stops the encoder; a video not finished is dropped. */
  close(): void {
    if (this.#encoder.state !== 'closed') this.#encoder.close();
  }

  async #flush(): Promise<void> {
    try {
      await this.#encoder.flush();
    } catch (error) {
      this.#throwIfFailed();
      throw error;
    }
    this.#throwIfFailed();
  }

  #throwIfFailed(): void {
    if (this.#failure !== null) throw this.#failure;
  }
}
