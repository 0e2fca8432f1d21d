// The QOIZ frame decoder, compiled from crates/qoiz-wasm to a plain C ABI
// (no wasm-bindgen). One QoizDecoder holds the zstd stream state of a session:
// CODEC_QOIZ_STREAM's history, or CODEC_QOIZ_SESSION's stream.

interface QoizExports {
  memory: WebAssembly.Memory;
  qoiz_alloc(len: number): number;
  qoiz_free(ptr: number, len: number): void;
  qoiz_decoder_new(): number;
  qoiz_decoder_free(handle: number): void;
  qoiz_decode(
    handle: number,
    codec: number,
    resetContext: number,
    dataPtr: number,
    dataLen: number,
    width: number,
    height: number,
  ): number;
  qoiz_decode_frame(handle: number, resetContext: number, dataPtr: number, dataLen: number): number;
  qoiz_output_ptr(handle: number): number;
  qoiz_output_len(handle: number): number;
  qoiz_error_ptr(handle: number): number;
  qoiz_error_len(handle: number): number;
}

const REQUIRED_EXPORTS = [
  'qoiz_alloc',
  'qoiz_free',
  'qoiz_decoder_new',
  'qoiz_decoder_free',
  'qoiz_decode',
  'qoiz_decode_frame',
  'qoiz_output_ptr',
  'qoiz_output_len',
  'qoiz_error_ptr',
  'qoiz_error_len',
] as const;

export class QoizDecoder {
  readonly #wasm: QoizExports;
  #handle: number;

  private constructor(wasm: QoizExports) {
    this.#wasm = wasm;
    this.#handle = wasm.qoiz_decoder_new();
    if (this.#handle === 0) throw new Error('qoiz_decoder_new failed');
  }

  /** Fetches and instantiates the module at `url`, then makes one decoder. */
  static async load(url: string): Promise<QoizDecoder> {
    const instance = await instantiate(url);
    const exports = instance.exports as Record<string, unknown>;
    if (!(exports['memory'] instanceof WebAssembly.Memory)) throw new Error(`${url} exports no memory`);
    for (const name of REQUIRED_EXPORTS) {
      if (typeof exports[name] !== 'function') throw new Error(`${url} does not export ${name}`);
    }
    return new QoizDecoder(exports as unknown as QoizExports);
  }

  /** Decodes one rectangle into a fresh RGBA buffer of width*height*4 bytes. */
  decode(codec: number, resetContext: boolean, data: Uint8Array, width: number, height: number): ArrayBuffer {
    const handle = this.#handle;
    this.#call(data, (ptr, len) => this.#wasm.qoiz_decode(handle, codec, resetContext ? 1 : 0, ptr, len, width, height));
    return this.#output(width * height * 4);
  }

  /**
   * Decodes a CODEC_QOIZ_SESSION FrameRect (a frame, or a part of one) into
   * a fresh buffer of its operations (frame-ops.ts); resetContext starts a new stream.
   */
  decodeFrame(resetContext: boolean, data: Uint8Array): ArrayBuffer {
    const handle = this.#handle;
    this.#call(data, (ptr, len) => this.#wasm.qoiz_decode_frame(handle, resetContext ? 1 : 0, ptr, len));
    return this.#output(this.#wasm.qoiz_output_len(handle));
  }

  free(): void {
    if (this.#handle !== 0) this.#wasm.qoiz_decoder_free(this.#handle);
    this.#handle = 0;
  }

  /** Copies `data` into the module's memory for `decode`, and throws the decoder's message if its status is an error. */
  #call(data: Uint8Array, decode: (ptr: number, len: number) => number): void {
    const wasm = this.#wasm;
    // qoiz_alloc(0) may legally return a dangling pointer; always ask for a byte.
    const capacity = Math.max(data.length, 1);
    const ptr = wasm.qoiz_alloc(capacity);
    if (ptr === 0) throw new Error(`cannot allocate ${data.length} bytes in the decoder`);
    let status: number;
    try {
      // memory.buffer is re-read after every call: any call may grow memory.
      new Uint8Array(wasm.memory.buffer, ptr, data.length).set(data);
      status = decode(ptr, data.length);
    } finally {
      wasm.qoiz_free(ptr, capacity);
    }
    if (status < 0) throw new Error(this.#lastError() || `decode failed with status ${status}`);
  }

  /** The last successful decode's output, `len` bytes, copied out of the module's memory. */
  #output(len: number): ArrayBuffer {
    const wasm = this.#wasm;
    const out = wasm.qoiz_output_ptr(this.#handle);
    return wasm.memory.buffer.slice(out, out + len);
  }

  #lastError(): string {
    const wasm = this.#wasm;
    const ptr = wasm.qoiz_error_ptr(this.#handle);
    const len = wasm.qoiz_error_len(this.#handle);
    return new TextDecoder().decode(new Uint8Array(wasm.memory.buffer, ptr, len));
  }
}

async function instantiate(url: string): Promise<WebAssembly.Instance> {
  try {
    return (await WebAssembly.instantiateStreaming(fetch(url), {})).instance;
  } catch {
    // Streaming compilation needs Content-Type: application/wasm; a server
    // that sends another type still gets a working client, compiled from bytes.
    const response = await fetch(url);
    if (!response.ok) throw new Error(`fetching ${url}: HTTP ${response.status}`);
    return (await WebAssembly.instantiate(await response.arrayBuffer(), {})).instance;
  }
}
