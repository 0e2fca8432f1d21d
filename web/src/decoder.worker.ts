// Decodes FrameRects off the main thread. One decoder for the whole session,
// since CODEC_QOIZ_STREAM and CODEC_QOIZ_SESSION keep zstd state from one
// rectangle to the next; rectangles are therefore decoded strictly in
// arrival order.
//
// A rect that does not decode leaves that state unknown: it is reported
// corrupt, and every rect after it is skipped (and reported so, for the
// frame acks) until one with resetContext starts the stream again, which
// the session asks the server for. Only when keyframes themselves keep
// failing, or the module cannot load or traps, does decoding stop for good.
//
// A region in motion comes as VP8 (CODEC_VP8), which WebCodecs decodes
// asynchronously: the queue waits for each such frame's picture, so every
// answer still goes out in arrival order.
import { Codec } from './codec';
import type { DecodedOps, DecodedRect, DecodedVideo, DecodeRequest, DecodeResult } from './decoder-messages';
import { parseFrameOps } from './frame-ops';
import { QoizDecoder } from './qoiz';
import { VideoRegionDecoder } from './video-region';

const WASM_URL = '/qoiz.wasm';
/** Keyframes failing this many times in a row is no passing glitch: the decoder gives up. */
const MAX_FAILED_KEYFRAMES = 3;

// The project's lib is "dom"; this is the slice of the worker scope we use.
interface WorkerScope {
  onmessage: ((event: MessageEvent<DecodeRequest>) => void) | null;
  postMessage(message: DecodeResult, transfer?: Transferable[]): void;
}
const scope = globalThis as unknown as WorkerScope;

let decoder: QoizDecoder | null = null;
let failed = false;
const queue: DecodeRequest[] = [];
/** A rect failed to decode: the ones after it are skipped until a keyframe. */
let skipping = false;
/** Keyframes that failed to decode since the last one that did. */
let failedKeyframes = 0;
const video = new VideoRegionDecoder();
/** A video frame is being decoded: the queue waits for it. */
let awaitingVideo = false;

scope.onmessage = (event) => {
  if (failed) return;
  queue.push(event.data);
  if (decoder !== null) drain(decoder);
};

QoizDecoder.load(WASM_URL).then(
  (loaded) => {
    decoder = loaded;
    scope.postMessage({ kind: 'ready' });
    drain(loaded);
  },
  (error: unknown) => fail(`cannot load the frame decoder ${WASM_URL}: ${message(error)}`),
);

/** Answers queued rects in order; stops at a video frame, and goes on once it is answered. */
function drain(decoder: QoizDecoder): void {
  if (awaitingVideo) return;
  for (let request = queue.shift(); request !== undefined && !failed; request = queue.shift()) {
    if (request.codec === Codec.VP8 && !skipping) {
      awaitingVideo = true;
      void answerVideo(request).finally(() => {
        awaitingVideo = false;
        if (!failed) drain(decoder);
      });
      return;
    }
    answer(decoder, request);
  }
}

async function answerVideo(request: DecodeRequest): Promise<void> {
  const { frameId, endOfFrame } = request;
  let piece: DecodedVideo;
  try {
    piece = await decodeVideo(request);
  } catch (error) {
    skipping = true;
    scope.postMessage({ kind: 'corrupt', frameId, endOfFrame, resetContext: false, message: `cannot decode frame ${frameId} (${describe(request)}): ${message(error)}` });
    return;
  }
  if (!failed) scope.postMessage(piece, piece.frame === null ? [] : [piece.frame]);
}

function answer(decoder: QoizDecoder, request: DecodeRequest): void {
  const { frameId, resetContext, endOfFrame } = request;
  // A video frame while skipping is skipped too: only the lossless stream's keyframe starts over.
  if (skipping && !(resetContext && request.codec !== Codec.VP8)) {
    scope.postMessage({ kind: 'skipped', frameId, endOfFrame });
    return;
  }
  let piece: DecodedRect | DecodedOps;
  try {
    piece = decode(decoder, request);
  } catch (error) {
    const text = `cannot decode frame ${frameId} (${describe(request)}): ${message(error)}`;
    // A trap leaves the module's memory as it was mid-call: nothing more can be trusted to it.
    if (error instanceof WebAssembly.RuntimeError) return fail(text);
    if (resetContext && ++failedKeyframes >= MAX_FAILED_KEYFRAMES) {
      return fail(`${text} (${failedKeyframes} keyframes in a row did not decode)`);
    }
    skipping = true;
    scope.postMessage({ kind: 'corrupt', frameId, endOfFrame, resetContext, message: text });
    return;
  }
  if (resetContext) {
    skipping = false;
    failedKeyframes = 0;
  }
  scope.postMessage(piece, [piece.kind === 'ops' ? piece.ops : piece.rgba]);
}

/** Decodes a region's VP8 frame; its data stays in the request's buffer until WebCodecs has copied it. */
async function decodeVideo(request: DecodeRequest): Promise<DecodedVideo> {
  const { frameId, x, y, width, height, resetContext, endOfFrame } = request;
  const data = new Uint8Array(request.buffer, request.offset, request.length);
  const frame = await video.decode(data, resetContext, width, height, frameId * 1000);
  return { kind: 'video', frameId, endOfFrame, x, y, width, height, frame };
}

/** Decodes one rect; throws when it does not decode, or decodes to operations out of shape. */
function decode(decoder: QoizDecoder, request: DecodeRequest): DecodedRect | DecodedOps {
  const { frameId, x, y, width, height, codec, resetContext, endOfFrame } = request;
  const data = new Uint8Array(request.buffer, request.offset, request.length);
  if (codec === Codec.QOIZ_SESSION) {
    const ops = decoder.decodeFrame(resetContext, data);
    // Checked here, where a bad list is one more corrupt rect, rather than where it is painted.
    parseFrameOps(ops);
    return { kind: 'ops', frameId, endOfFrame, resetContext, ops };
  }
  const rgba = decoder.decode(codec, resetContext, data, width, height);
  return { kind: 'rect', frameId, endOfFrame, resetContext, x, y, width, height, rgba };
}

/** A session frame's rect has no region of its own; a video frame's is the region in motion. */
function describe({ codec, x, y, width, height }: DecodeRequest): string {
  return codec === Codec.QOIZ_SESSION ? 'session stream' : `${width}x${height} at ${x},${y}`;
}

/** Gives up for good: nothing more is decoded, nor answered but with this error. */
function fail(text: string): void {
  failed = true;
  queue.length = 0;
  decoder?.free();
  decoder = null;
  scope.postMessage({ kind: 'error', message: text });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
