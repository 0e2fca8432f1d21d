// A WebM video made in the page: pictures drawn on a canvas of the video's
// size, encoded by the browser's own VP9 or VP8 encoder (WebCodecs), muxed
// by mediabunny into a Blob. No ffmpeg.wasm: of mediabunny only its WebM
// muxer is used (and bundled, in the export's lazily loaded chunk), to
// write the container around the encoder's chunks; the encoder is the one
// the browser already has. This is the only module that imports mediabunny.
import { EncodedPacket, EncodedVideoPacketSource, Output, StreamTarget, WebMOutputFormat, type StreamTargetChunk } from 'mediabunny';
import { BlobFile } from './blob-file';
import type { ScreenSize } from './video-size';
import type { VideoFrameTime } from './video-timeline';

/** Each codec's name in WebCodecs and in mediabunny, the better first: VP9 keeps the same picture in fewer bytes. */
const CODECS = [
  { webCodecs: 'vp09.00.10.08', muxer: 'vp9' },
  { webCodecs: 'vp8', muxer: 'vp8' },
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
/** What the muxer gathers before handing bytes over: few Blob parts, little memory. */
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
  readonly #output: Output;
  readonly #track: EncodedVideoPacketSource;
  readonly #file: BlobFile;
  readonly #canvas: OffscreenCanvas;
  readonly #context: OffscreenCanvasRenderingContext2D;
  readonly #keyframeEvery: number;
  /**
   * The encoder's chunks on their way into the muxer, one after the other
   * in the order encoded: the muxer takes a chunk asynchronously, the
   * encoder hands them over in a callback that cannot wait.
   */
  #muxing: Promise<void> = Promise.resolve();
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
      if (supported !== true) continue;
      const file = new BlobFile();
      // The file is written at positions into Blob parts as it grows, then
      // its header is written over; nothing keeps the whole video in memory.
      const target = new StreamTarget(new WritableStream<StreamTargetChunk>({ write: (chunk) => file.write(chunk.data, chunk.position) }), {
        chunked: true,
        chunkSize: MUXER_CHUNK_LEN,
      });
      const output = new Output({ format: new WebMOutputFormat(), target });
      // No frameRate for the track: mediabunny would snap every timestamp
      // to a multiple of 1/fps, the last frame's too, and that frame is at
      // the recording's end (video-timeline.ts) so that the file says
      // exactly the recording's duration.
      const track = new EncodedVideoPacketSource(codec.muxer);
      output.addVideoTrack(track);
      await output.start();
      return new WebmVideo(config, output, track, file, fps);
    }
    throw new Error(`this browser cannot encode a ${size.width}×${size.height} video as VP9 or VP8`);
  }

  private constructor(config: VideoEncoderConfig, output: Output, track: EncodedVideoPacketSource, file: BlobFile, fps: number) {
    this.#output = output;
    this.#track = track;
    this.#file = file;
    this.#keyframeEvery = fps * KEYFRAME_SECONDS;
    this.#canvas = new OffscreenCanvas(config.width, config.height);
    const context = this.#canvas.getContext('2d', { alpha: false });
    if (context === null) throw new Error('no 2D context for an OffscreenCanvas');
    this.#context = context;
    this.#context.fillStyle = '#000';
    this.#encoder = new VideoEncoder({
      output: (chunk, meta) => {
        let packet: EncodedPacket;
        try {
          packet = EncodedPacket.fromEncodedChunk(chunk);
        } catch (error) {
          this.#failure ??= error;
          return;
        }
        // The first chunk's meta carries the decoder config the muxer writes in the track's header.
        this.#muxing = this.#muxing
          .then(() => (this.#failure === null ? this.#track.add(packet, meta) : undefined))
          .catch((error: unknown) => {
            this.#failure ??= error;
          });
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
    await this.#output.finalize();
    return this.#file.blob('video/webm');
  }

  /** Stops the encoder and the muxer; a video not finished is dropped. */
  close(): void {
    if (this.#encoder.state !== 'closed') this.#encoder.close();
    // Its reason, if it fails, is the export's own error or cancel, already on its way.
    if (this.#output.state === 'started') this.#output.cancel().catch(() => undefined);
  }

  /** Waits for every frame given so far to be encoded and in the muxer. */
  async #flush(): Promise<void> {
    try {
      await this.#encoder.flush();
    } catch (error) {
      this.#throwIfFailed();
      throw error;
    }
    await this.#muxing;
    this.#throwIfFailed();
  }

  #throwIfFailed(): void {
    if (this.#failure !== null) throw this.#failure;
  }
}
