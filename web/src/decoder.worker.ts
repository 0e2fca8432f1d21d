// Decodes FrameRects off the main thread. One decoder for the whole session,
// since CODEC_QOIZ_STREAM keeps zstd state from one rectangle to the next;
// rectangles are therefore decoded strictly in arrival order.
import type { DecodeRequest, DecodeResult } from './decoder-messages';
import { QoizDecoder } from './qoiz';

const WASM_URL = '/qoiz.wasm';

// The project's lib is "dom"; this is the slice of the worker scope we use.
interface WorkerScope {
  onmessage: ((event: MessageEvent<DecodeRequest>) => void) | null;
  postMessage(message: DecodeResult, transfer?: Transferable[]): void;
}
const scope = globalThis as unknown as WorkerScope;

let decoder: QoizDecoder | null = null;
let failed = false;
const queue: DecodeRequest[] = [];

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

function drain(decoder: QoizDecoder): void {
  for (let request = queue.shift(); request !== undefined && !failed; request = queue.shift()) {
    const { frameId, x, y, width, height, codec, resetContext, endOfFrame } = request;
    let rgba: ArrayBuffer;
    try {
      const data = new Uint8Array(request.buffer, request.offset, request.length);
      rgba = decoder.decode(codec, resetContext, data, width, height);
    } catch (error) {
      fail(`cannot decode frame ${frameId} (${width}x${height} at ${x},${y}): ${message(error)}`);
      return;
    }
    scope.postMessage({ kind: 'rect', frameId, x, y, width, height, endOfFrame, rgba }, [rgba]);
  }
}

/** After a failure the stream state is unknown: decode nothing more rather than paint garbage. */
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
