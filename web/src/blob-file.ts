// A file written at positions, kept as a Blob: the WebM muxer writes its
// clusters in order, then goes back to fill in the header (the duration,
// the sizes, where the cues are). Blob parts stay in the browser's blob
// store, which can keep them on disk, rather than in one growing
// ArrayBuffer: an hour's video does not have to fit in the page's memory.

export class BlobFile {
  /** The file's bytes in order, as written at its end. */
  readonly #parts: Blob[] = [];
  /** Writes over bytes already written, applied in order once the file is whole. */
  readonly #patches: { position: number; bytes: Uint8Array<ArrayBuffer> }[] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Writes `bytes` at `position`, at or before the end; the caller may reuse `bytes` afterwards. */
  write(bytes: Uint8Array, position: number): void {
    if (position > this.#size) {
      throw new Error(`a write at ${position} would leave a gap after the end of the file at ${this.#size}`);
    }
    const over = Math.min(bytes.length, this.#size - position);
    if (over > 0) this.#patches.push({ position, bytes: bytes.slice(0, over) });
    if (over < bytes.length) {
      this.#parts.push(new Blob([bytes.slice(over)]));
      this.#size += bytes.length - over;
    }
  }

  /** The whole file; slices of Blobs share their bytes, so patching copies nothing large. */
  blob(type: string): Blob {
    let file = new Blob(this.#parts);
    for (const { position, bytes } of this.#patches) {
      file = new Blob([file.slice(0, position), bytes, file.slice(position + bytes.length)]);
    }
    return new Blob([file], { type });
  }
}
