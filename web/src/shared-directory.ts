// A directory the person picked (File System Access API, Chromium), shared
// with the desktop: the desktop service shows it as a folder in the home
// directory and sends each file operation as a SharedDirectoryRequest; this
// answers from the FileSystemDirectoryHandle. Paths are checked first
// (shared-path.ts), reads and writes are held to 1 MiB, and the handle API
// itself cannot reach outside the picked directory or follow links.
import {
  FileType,
  SharedDirectoryErrorCode as Code,
  type FileSystemObject,
  type SharedDirectoryRequest,
  type SharedDirectoryResponse,
} from './protocol';
import { MAX_SHARED_CHUNK_BYTES, MAX_SHARED_PATH_BYTES, RefusedPath, pathComponents } from './shared-path';

/** Most entries one listing sends (SharedDirectoryResponse.List, and the 2 MiB frame). */
const MAX_LIST_ENTRIES = 100_000;
/** Path bytes one listing may hold, so its frame stays well under the browser's 2 MiB. */
const MAX_LIST_PATH_BYTES = 1 << 20;

type Uint64 = number | { toNumber(): number };
const num = (value: Uint64 | null | undefined): number => (value == null ? 0 : typeof value === 'number' ? value : value.toNumber());

/** What the handles offer beyond lib.dom's types (Chromium has them). */
interface Iterable {
  values(): AsyncIterableIterator<FileSystemHandle>;
}
interface Movable {
  move?(parent: FileSystemDirectoryHandle, name: string): Promise<void>;
}

/** A failure with the protocol's error code. */
class Failure extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Whether this browser can pick a directory to share. */
export function canPickDirectory(): boolean {
  return typeof (window as unknown as { showDirectoryPicker?: unknown }).showDirectoryPicker === 'function';
}

/** Asks the person for a directory (read and write); null if they cancelled. */
export async function pickDirectory(): Promise<FileSystemDirectoryHandle | null> {
  const picker = (window as unknown as { showDirectoryPicker(o: { mode: string }): Promise<FileSystemDirectoryHandle> }).showDirectoryPicker;
  try {
    return await picker({ mode: 'readwrite' });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') return null;
    throw error;
  }
}

export class SharedDirectory {
  readonly id: number;
  readonly root: FileSystemDirectoryHandle;

  constructor(id: number, root: FileSystemDirectoryHandle) {
    this.id = id;
    this.root = root;
  }

  /** The answer to one request; never throws. */
  async answer(request: SharedDirectoryRequest): Promise<SharedDirectoryResponse> {
    const completionId = request.completionId;
    try {
      const result = await this.#run(request);
      return { completionId, errorCode: Code.NONE, ...result };
    } catch (error) {
      const { code, message } = failure(error);
      if (code === Code.REFUSED || code === Code.FAILED) console.warn(`oriel: shared directory request refused or failed: ${message}`);
      return { completionId, errorCode: code };
    }
  }

  async #run(request: SharedDirectoryRequest): Promise<Partial<SharedDirectoryResponse>> {
    if (request.info) return { info: { fso: await this.#object(request.info.path) } };
    if (request.create) return { create: { fso: await this.#create(request.create.path, request.create.fileType ?? FileType.FILE) } };
    if (request.delete) {
      const { parent, name } = await this.#parent(request.delete.path);
      await parent.removeEntry(name);
      return { delete: {} };
    }
    if (request.list) return { list: { fsoList: await this.#list(request.list.path) } };
    if (request.read) {
      const { path, length } = request.read;
      const offset = num(request.read.offset);
      if (length > MAX_SHARED_CHUNK_BYTES) throw new Failure(Code.REFUSED, `read of ${length} bytes is over 1 MiB`);
      const file = await (await this.#file(path)).getFile();
      const data = new Uint8Array(await file.slice(offset, offset + length).arrayBuffer());
      return { read: { data } };
    }
    if (request.write) {
      const { path, data } = request.write;
      if (data.length > MAX_SHARED_CHUNK_BYTES) throw new Failure(Code.REFUSED, `write of ${data.length} bytes is over 1 MiB`);
      const writable = await (await this.#file(path)).createWritable({ keepExistingData: true });
      try {
        await writable.write({ type: 'write', position: num(request.write.offset), data: data as Uint8Array<ArrayBuffer> });
      } finally {
        await writable.close();
      }
      return { write: { bytesWritten: data.length } };
    }
    if (request.move) {
      await this.#move(request.move.originalPath, request.move.newPath);
      return { move: {} };
    }
    if (request.truncate) {
      const writable = await (await this.#file(request.truncate.path)).createWritable({ keepExistingData: true });
      try {
        await writable.truncate(num(request.truncate.endOfFile));
      } finally {
        await writable.close();
      }
      return { truncate: {} };
    }
    throw new Failure(Code.FAILED, 'unknown operation');
  }

  /** The directory holding `path` and the last component; the root itself has none. */
  async #parent(path: string): Promise<{ parent: FileSystemDirectoryHandle; name: string }> {
    const parts = pathComponents(path);
    const name = parts.pop();
    if (name === undefined) throw new Failure(Code.REFUSED, 'the shared directory itself cannot be changed');
    let parent = this.root;
    for (const part of parts) parent = await parent.getDirectoryHandle(part);
    return { parent, name };
  }

  async #handle(path: string): Promise<FileSystemHandle> {
    if (pathComponents(path).length === 0) return this.root;
    const { parent, name } = await this.#parent(path);
    try {
      return await parent.getFileHandle(name);
    } catch (error) {
      if (error instanceof DOMException && error.name === 'TypeMismatchError') return parent.getDirectoryHandle(name);
      throw error;
    }
  }

  async #file(path: string): Promise<FileSystemFileHandle> {
    const { parent, name } = await this.#parent(path);
    return parent.getFileHandle(name);
  }

  async #object(path: string, handle?: FileSystemHandle): Promise<FileSystemObject> {
    const found = handle ?? (await this.#handle(path));
    if (found.kind === 'file') {
      const file = await (found as FileSystemFileHandle).getFile();
      return { path, fileType: FileType.FILE, size: file.size, lastModified: file.lastModified, isEmpty: false };
    }
    const first = await (found as unknown as Iterable).values().next();
    return { path, fileType: FileType.DIRECTORY, size: 0, lastModified: 0, isEmpty: first.done === true };
  }

  async #create(path: string, fileType: number): Promise<FileSystemObject> {
    const { parent, name } = await this.#parent(path);
    const exists = await parent.getFileHandle(name).then(
      () => true,
      (error: unknown) => error instanceof DOMException && error.name === 'TypeMismatchError',
    );
    if (exists) throw new Failure(Code.ALREADY_EXISTS, 'already exists');
    const handle =
      fileType === FileType.DIRECTORY ? await parent.getDirectoryHandle(name, { create: true }) : await parent.getFileHandle(name, { create: true });
    return this.#object(path, handle);
  }

  async #list(path: string): Promise<FileSystemObject[]> {
    const dir = await this.#handle(path);
    if (dir.kind !== 'directory') throw new Failure(Code.FAILED, 'not a directory');
    const out: FileSystemObject[] = [];
    let bytes = 0;
    for await (const entry of (dir as unknown as Iterable).values()) {
      const child = path === '' ? entry.name : `${path}/${entry.name}`;
      bytes += child.length * 3;
      if (out.length >= MAX_LIST_ENTRIES || bytes > MAX_LIST_PATH_BYTES) {
        console.warn(`oriel: listing of ${JSON.stringify(path)} cut at ${out.length} entries`);
        break;
      }
      if (new TextEncoder().encode(child).length > MAX_SHARED_PATH_BYTES) continue;
      out.push(await this.#object(child, entry));
    }
    return out;
  }

  async #move(from: string, to: string): Promise<void> {
    const source = await this.#handle(from);
    const { parent: fromParent, name: fromName } = await this.#parent(from);
    const { parent: toParent, name: toName } = await this.#parent(to);
    // Rename replaces a file at the destination, as on Linux.
    await toParent.removeEntry(toName).catch((error: unknown) => {
      if (!(error instanceof DOMException && error.name === 'NotFoundError')) throw error;
    });
    const movable = source as unknown as Movable;
    if (typeof movable.move === 'function') {
      await movable.move(toParent, toName);
      return;
    }
    // Without move(): copy, then delete the original.
    await copy(source, toParent, toName);
    await fromParent.removeEntry(fromName, { recursive: true });
  }
}

async function copy(source: FileSystemHandle, parent: FileSystemDirectoryHandle, name: string): Promise<void> {
  if (source.kind === 'file') {
    const file = await (source as FileSystemFileHandle).getFile();
    const writable = await (await parent.getFileHandle(name, { create: true })).createWritable();
    try {
      await writable.write(file);
    } finally {
      await writable.close();
    }
    return;
  }
  const dir = await parent.getDirectoryHandle(name, { create: true });
  for await (const entry of (source as unknown as Iterable).values()) await copy(entry, dir, entry.name);
}

function failure(error: unknown): { code: number; message: string } {
  if (error instanceof Failure) return { code: error.code, message: error.message };
  if (error instanceof RefusedPath) return { code: Code.REFUSED, message: error.message };
  if (error instanceof DOMException) {
    switch (error.name) {
      case 'NotFoundError':
        return { code: Code.DOES_NOT_EXIST, message: error.message };
      case 'InvalidModificationError':
        return { code: Code.NOT_EMPTY, message: error.message };
    }
  }
  // A name the browser will not take (TypeError) or anything else.
  return { code: Code.FAILED, message: error instanceof Error ? error.message : String(error) };
}
