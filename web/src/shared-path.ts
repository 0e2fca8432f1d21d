// Paths inside a shared directory, checked the way the desktop service
// checks them (crates/linux-desktop/src/shared_dir/path.rs): relative,
// '/'-separated, no empty, "." or ".." component, no NUL, at most 10240
// bytes of UTF-8; "" is the shared directory itself. A request with any
// other path is refused before the picked directory is touched.
//
// No imports and no DOM, so unit tests load it in Node.

/** Longest path, in bytes of UTF-8 (SharedDirectoryRequest paths). */
export const MAX_SHARED_PATH_BYTES = 10240;
/** Most bytes one read or write moves (1 MiB). */
export const MAX_SHARED_CHUNK_BYTES = 1 << 20;

/** Why `path` is refused, or null if it is a plain relative path. */
export function pathProblem(path: string): string | null {
  const bytes = new TextEncoder().encode(path).length;
  if (bytes > MAX_SHARED_PATH_BYTES) return `path of ${bytes} bytes is longer than ${MAX_SHARED_PATH_BYTES}`;
  if (path.includes('\0')) return 'path contains a NUL byte';
  if (path === '') return null;
  if (path.startsWith('/')) return 'path is absolute';
  const bad = path.split('/').find((c) => c === '' || c === '.' || c === '..');
  if (bad !== undefined) return `path has a ${JSON.stringify(bad)} component`;
  return null;
}

/** The components of a checked path (none for the shared directory itself); throws on a refused one. */
export function pathComponents(path: string): string[] {
  const problem = pathProblem(path);
  if (problem !== null) throw new RefusedPath(problem);
  return path === '' ? [] : path.split('/');
}

/** A path the rules above refuse. */
export class RefusedPath extends Error {
  override name = 'RefusedPath';
}
