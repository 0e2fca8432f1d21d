// The player's export to a video file: a button that makes the recording
// into a WebM file in the page and offers it for download, how far it is
// while it works, and why it failed. Pressing the button while it works
// cancels. Test hooks: #player-export[data-export-state] (idle, working,
// done, error), .player-export[data-export-url] (the file's blob: URL once
// done), #player-export-download, #player-export-progress,
// #player-export-error.
import { ApiError, type Recording } from '../api';
import { find, say } from '../dom';
import { formatSize } from '../file-size';
import type { ExportPhase } from '../recording-export';
import { RecordingFormatError } from '../recording-format';

type ExportState = 'idle' | 'working' | 'done' | 'error';

const PHASES: Record<ExportPhase, string> = { reading: 'Reading', encoding: 'Encoding' };

export class PlayerExport {
  readonly #root: HTMLElement;
  readonly #button: HTMLButtonElement;
  readonly #progress: HTMLElement;
  readonly #download: HTMLAnchorElement;
  readonly #error: HTMLElement;
  readonly #recording: Recording;
  /** The export under way, if one is. */
  #run: AbortController | null = null;
  /** The offered file's blob: URL, revoked when a new export starts or the page goes. */
  #url: string | null = null;

  constructor(root: HTMLElement, recording: Recording) {
    this.#root = root;
    this.#button = find(root, '#player-export', HTMLButtonElement);
    this.#progress = find(root, '#player-export-progress', HTMLElement);
    this.#download = find(root, '#player-export-download', HTMLAnchorElement);
    this.#error = find(root, '#player-export-error', HTMLElement);
    this.#recording = recording;
    this.#button.addEventListener('click', () => (this.#run === null ? void this.#start() : this.#cancel()));
    this.#show('idle');
  }

  dispose(): void {
    this.#run?.abort();
    this.#forgetFile();
  }

  async #start(): Promise<void> {
    this.#forgetFile();
    const run = new AbortController();
    this.#run = run;
    this.#show('working');
    let shown = '';
    const progress = (phase: ExportPhase, fraction: number): void => {
      // Text changes only when the whole percent does: a long recording reports many thousand times.
      const text = `${PHASES[phase]}… ${Math.floor(fraction * 100)}%`;
      if (text !== shown) this.#progress.textContent = shown = text;
    };
    progress('reading', 0);
    try {
      // The encoding code and its muxer load with the first export, not with every player.
      const { exportWebm } = await import('../recording-export');
      const video = await exportWebm(this.#recording, progress, run.signal);
      // A cancel as the last bytes were written: the user no longer wants the file.
      if (run.signal.aborted) return;
      this.#offer(video);
      this.#show('done');
    } catch (error) {
      // A cancel has shown idle already.
      if (run.signal.aborted) return;
      // A damaged file and a refused request say what is wrong; anything else may be a bug here.
      if (!(error instanceof RecordingFormatError) && !(error instanceof ApiError)) console.error('oriel: export failed', error);
      say(this.#error, `Cannot export the recording: ${error instanceof Error ? error.message : String(error)}`);
      this.#show('error');
    } finally {
      if (this.#run === run) this.#run = null;
    }
  }

  #cancel(): void {
    this.#run?.abort();
    this.#run = null;
    this.#show('idle');
  }

  #offer(video: Blob): void {
    const name = `oriel-${this.#recording.id}.webm`;
    this.#url = URL.createObjectURL(video);
    this.#download.href = this.#url;
    this.#download.download = name;
    this.#download.title = name;
    this.#download.textContent = `Download the video (${formatSize(video.size)})`;
    this.#root.dataset['exportUrl'] = this.#url;
  }

  #forgetFile(): void {
    if (this.#url !== null) URL.revokeObjectURL(this.#url);
    this.#url = null;
    this.#download.removeAttribute('href');
    delete this.#root.dataset['exportUrl'];
  }

  #show(state: ExportState): void {
    this.#button.dataset['exportState'] = state;
    this.#button.textContent = state === 'working' ? 'Cancel export' : 'Export WebM';
    this.#progress.hidden = state !== 'working';
    this.#download.hidden = state !== 'done';
    if (state !== 'error') say(this.#error, null);
  }
}
