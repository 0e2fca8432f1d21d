// The Share directory button in the session toolbar: it opens the browser's
// directory picker and shares what the person picks. It shows only while
// the session can share (ServerHello.directory_sharing_enabled) and the
// browser has a directory picker (Chromium).
import { find } from '../dom';
import type { DirectorySharingView } from '../session';
import { canPickDirectory, pickDirectory } from '../shared-directory';

declare global {
  interface Window {
    /** Test hook: shares a handle the way the button does (a headless browser cannot click through the picker). */
    __orielShareDirectory?: (handle: FileSystemDirectoryHandle) => void;
  }
}

export class ShareDirectoryButton implements DirectorySharingView {
  readonly #button: HTMLButtonElement;
  #share: ((handle: FileSystemDirectoryHandle) => void) | null = null;

  constructor(page: HTMLElement, warn: (message: string) => void) {
    this.#button = find(page, '#share-directory', HTMLButtonElement);
    this.#button.addEventListener('click', () => {
      const share = this.#share;
      if (share === null) return;
      pickDirectory().then(
        (handle) => handle !== null && share(handle),
        (error: unknown) => warn(`The directory cannot be shared: ${error instanceof Error ? error.message : String(error)}`),
      );
    });
  }

  start(share: (handle: FileSystemDirectoryHandle) => void): void {
    this.#share = share;
    window.__orielShareDirectory = share;
    this.#button.hidden = !canPickDirectory();
  }

  stop(): void {
    this.#share = null;
    delete window.__orielShareDirectory;
    this.#button.hidden = true;
  }
}
