// Plays one recording on a canvas, with the live session's decoder:
//
//   loading --header read, the start shown--> playing | paused
//   playing <--play / pause--> paused
//   playing --past the last record, at the duration--> ended
//   any but error --seek--> loading --records up to the target decoded--> playing | paused
//   any --a damaged file, a failed request, a decode error--> error (for good)
//
// A seek is a run of its own: a fresh decoder, the keyframe's context
// records, the records from the keyframe to the target at once, then the
// rest at the clock's pace. A newer seek aborts the older run, its requests
// and its waits. The file is read as it plays, a piece ahead (recording-file.ts).
import { ApiError, type Recording } from './api';
import type { Picture } from './picture';
import { PlaybackClock, type Speed } from './playback-clock';
import { AlertSeverity, type CursorImage } from './protocol';
import { readRecordedMessage } from './recorded-message';
import { RecordedScreen } from './recorded-screen';
import { RecordingFile } from './recording-file';
import { checkSessionId, RecordingFormatError, type RecordBytes } from './recording-format';
import { planSeek } from './recording-seek';
import { Waits } from './waits';

/** Also #player[data-player-state], which tests wait on. */
export type PlayerState = 'loading' | 'paused' | 'playing' | 'ended' | 'error';

/** What playback shows besides the picture; pages/player.ts backs it with the DOM. */
export interface PlayerView {
  state(state: PlayerState): void;
  /** The recorded screen changed size; the canvas already has it. */
  resized(width: number, height: number): void;
  cursorShape(cursor: CursorImage): void;
  /** Where the user's mouse was, in the recorded screen's pixels. */
  cursorAt(x: number, y: number): void;
  click(pressed: boolean): void;
  toast(severity: 'info' | 'warning', message: string): void;
  /** An ERROR alert: the session ended, saying why. */
  ended(message: string): void;
  /** A seek starts the picture over: no cursor, no alerts. */
  reset(): void;
  /** Playback stopped for good; `message` says what is wrong. */
  failed(message: string): void;
}

export interface PlayerOptions {
  recording: Recording;
  picture: Picture;
  view: PlayerView;
  /** The wall clock in ms (performance.now). */
  now: () => number;
}

export class Player {
  readonly #recording: Recording;
  readonly #file: RecordingFile;
  readonly #screen: RecordedScreen;
  readonly #view: PlayerView;
  readonly #clock: PlaybackClock;
  #state: PlayerState = 'loading';
  /** What the user last asked for; a seek ends in it. */
  #wantPlaying = true;
  /** Known once the header is read: where a seek before the first keyframe reads from. */
  #recordsStart: number | null = null;
  /** Aborted by dispose(), which an error runs too: the header and trailer checks. */
  readonly #life = new AbortController();
  /** The current seek's run; a newer seek or dispose() aborts it. */
  #run = new AbortController();
  /** Waits on the clock, looked at again when the user changes it. */
  readonly #waits = new Waits();

  constructor(options: PlayerOptions) {
    this.#recording = options.recording;
    this.#file = new RecordingFile(options.recording.id, options.recording.size);
    this.#screen = new RecordedScreen(options.picture, {
      failed: (message) => this.#fail(`cannot show the recording: ${message}`),
    });
    this.#view = options.view;
    this.#clock = new PlaybackClock(options.now, options.recording.index.durationMs);
    this.#setState('loading');
  }

  /** Reads the header, then plays from wherever the clock is (a seek while loading moves it). */
  start(): void {
    const signal = this.#life.signal;
    void this.#guard(signal, async () => {
      const header = await this.#file.header(signal);
      checkSessionId(header.meta, this.#recording.id);
      this.#recordsStart = header.recordsStart;
      // The trailer is checked alongside playback: a file cut short is refused as such.
      void this.#guard(signal, () => this.#file.trailer(this.#recording.index.recordsEnd, signal));
      this.seek(this.#clock.position());
    });
  }

  /** Where playback is, in ms from the start. */
  position(): number {
    return this.#clock.position();
  }

  play(): void {
    this.#wantPlaying = true;
    if (this.#state === 'ended') {
      this.seek(0);
    } else if (this.#state === 'paused') {
      this.#clock.play();
      this.#setState('playing');
      this.#waits.wake();
    }
  }

  pause(): void {
    this.#wantPlaying = false;
    if (this.#state === 'playing') {
      this.#clock.pause();
      this.#setState('paused');
      this.#waits.wake();
    }
  }

  setSpeed(speed: Speed): void {
    this.#clock.setSpeed(speed);
    this.#waits.wake();
  }

  /** Shows `target` ms into the recording, then goes on playing or stays paused as the user last asked. */
  seek(target: number): void {
    if (this.#state === 'error') return;
    this.#clock.pause();
    this.#clock.seek(target);
    this.#setState('loading');
    const recordsStart = this.#recordsStart;
    // Before the header is read, start() seeks to the clock's position.
    if (recordsStart === null) return;
    this.#run.abort();
    this.#run = new AbortController();
    const signal = this.#run.signal;
    this.#startOver();
    void this.#guard(signal, () => this.#playFrom(this.#clock.position(), recordsStart, signal));
  }

  dispose(): void {
    this.#life.abort();
    this.#run.abort();
    this.#screen.dispose();
  }

  async #playFrom(target: number, recordsStart: number, signal: AbortSignal): Promise<void> {
    const index = this.#recording.index;
    const plan = planSeek(index, target, recordsStart);
    const context = await Promise.all(plan.context.map((offset) => this.#file.recordAt(offset, signal)));
    for (const record of context) await this.#apply(record, signal, true);

    const records = this.#file.records(plan.from, index.recordsEnd, signal);
    let next = await records.next();
    while (!next.done && next.value.delayMs <= plan.target) {
      await this.#apply(next.value, signal, true);
      next = await records.next();
    }
    // Only once the target's picture is painted does the player say where it is.
    await this.#screen.painted(signal);
    if (this.#wantPlaying) this.#clock.play();
    this.#setState(this.#wantPlaying ? 'playing' : 'paused');

    while (!next.done) {
      const record = next.value;
      await this.#waits.until(signal, () => this.#clock.timeUntil(record.delayMs));
      await this.#apply(record, signal, false);
      next = await records.next();
    }
    await this.#waits.until(signal, () => this.#clock.timeUntil(this.#clock.end));
    this.#clock.pause();
    this.#setState('ended');
  }

  /** Applies one record. While catching up to a seek's target, the moment's passing signs (toasts, clicks) are left out. */
  async #apply(record: RecordBytes, signal: AbortSignal, catchingUp: boolean): Promise<void> {
    // Records of one piece resolve without waiting: an aborted run must stop here, not paint over the new one.
    signal.throwIfAborted();
    const message = readRecordedMessage(record);
    if (message === null) return;
    switch (message.kind) {
      case 'serverHello':
      case 'clientScreenSpec': {
        const { width, height } = message.value;
        await this.#screen.resize(width, height, signal);
        return this.#view.resized(width, height);
      }
      case 'frameRect':
        return this.#screen.draw(message.value, record.offset, signal);
      case 'cursorImage':
        return this.#view.cursorShape(message.value);
      case 'mouseMove':
        return this.#view.cursorAt(message.value.x, message.value.y);
      case 'mouseButton':
        if (!catchingUp) this.#view.click(message.value.pressed);
        return;
      case 'alert': {
        const { severity, message: text } = message.value;
        if (severity === AlertSeverity.ERROR) this.#view.ended(text);
        else if (!catchingUp) this.#view.toast(severity === AlertSeverity.WARNING ? 'warning' : 'info', text);
        return;
      }
    }
  }

  /** A fresh decoder and a blank picture, with nothing over it. */
  #startOver(): void {
    this.#screen.startOver();
    this.#view.reset();
  }

  /** Runs `task`; a failure ends playback, unless `signal` says a seek or the page dropped it. */
  async #guard(signal: AbortSignal, task: () => Promise<unknown>): Promise<void> {
    try {
      await task();
    } catch (error) {
      if (signal.aborted) return;
      // A damaged file and a refused request say what is wrong; anything else is a bug here.
      if (!(error instanceof RecordingFormatError) && !(error instanceof ApiError)) console.error('oriel: playback failed', error);
      this.#fail(error instanceof Error ? error.message : String(error));
    }
  }

  #fail(message: string): void {
    if (this.#state === 'error') return;
    this.dispose();
    this.#clock.pause();
    this.#setState('error');
    this.#view.failed(message);
  }

  #setState(state: PlayerState): void {
    this.#state = state;
    this.#view.state(state);
  }
}
