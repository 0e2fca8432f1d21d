// A recording made into a WebM video in the browser. Its records are
// replayed as fast as the decoder and the encoder go, with no playback
// clock; the recorded screen is sampled at a constant rate
// (video-timeline.ts) and each sample encoded (webm-video.ts).
//
// The file is read as the player reads it, a piece at a time with Range
// requests, and twice: first for its screen sizes, since the video's size
// is fixed before its first frame, and that read checks every record's CRC
// before any time goes into encoding; then to draw. Reading is quick next
// to encoding, and a recording's index names only the sizes keyframes follow.
//
// The video is the recorded screen's picture: the mouse pointer and the
// alerts that the player shows over it are not in it.
import type { Recording } from './api';
import { Picture } from './picture';
import { readRecordedMessage } from './recorded-message';
import { RecordedScreen } from './recorded-screen';
import { RecordingFile } from './recording-file';
import { checkSessionId, RecordingFormatError } from './recording-format';
import { videoSize, type ScreenSize } from './video-size';
import { VideoTimeline, type VideoFrameTime } from './video-timeline';
import { checkVideoEncoder, WebmVideo } from './webm-video';

/**
 * Frames a second. What a desktop shows (typing, windows, scrolling) reads
 * well at 15, and the export's time and the file's size grow with the
 * count of frames: half of 30's, for a video watched for what was done.
 */
const FPS = 15;

/** Reading checks the file and finds its sizes; encoding draws and encodes it. */
export type ExportPhase = 'reading' | 'encoding';
/** How far the export is: the phase, and the fraction of it done, from 0 to 1. */
export type ExportProgress = (phase: ExportPhase, fraction: number) => void;

/** The recording as a WebM file; rejects with `signal`'s reason when it aborts. */
export async function exportWebm(recording: Recording, progress: ExportProgress, signal: AbortSignal): Promise<Blob> {
  checkVideoEncoder();
  const file = new RecordingFile(recording.id, recording.size);
  const header = await file.header(signal);
  checkSessionId(header.meta, recording.id);
  // A file cut short is refused before it is read through.
  await file.trailer(recording.index.recordsEnd, signal);
  const records = { file, from: header.recordsStart, end: recording.index.recordsEnd };
  const size = await screenSize(records, progress, signal);
  const video = await WebmVideo.open(size, FPS);
  try {
    await draw(records, new VideoTimeline(recording.index.durationMs, FPS), video, progress, signal);
    return await video.finish();
  } finally {
    video.close();
  }
}

/** Where a recording's records lie in its file. */
interface Records {
  file: RecordingFile;
  from: number;
  end: number;
}

/** The video's size: every screen size the recording shows fits in it. */
async function screenSize(records: Records, progress: ExportProgress, signal: AbortSignal): Promise<ScreenSize> {
  const { file, from, end } = records;
  const sizes: ScreenSize[] = [];
  for await (const record of file.records(from, end, signal)) {
    const message = readRecordedMessage(record);
    if (message?.kind === 'serverHello' || message?.kind === 'clientScreenSpec') {
      const { width, height } = message.value;
      sizes.push({ width, height });
    }
    progress('reading', (record.end - from) / (end - from));
  }
  const size = videoSize(sizes);
  if (size === null) throw new RecordingFormatError('the recording has no screen size: there is no picture in it');
  return size;
}

/** Replays the records on a picture of their own, adding it to `video` at each of the timeline's frames. */
async function draw(records: Records, timeline: VideoTimeline, video: WebmVideo, progress: ExportProgress, signal: AbortSignal): Promise<void> {
  // A decoder that gives up stops the export as a cancel would, with its reason.
  const decoderFailed = new AbortController();
  const run = AbortSignal.any([signal, decoderFailed.signal]);
  const screen = new RecordedScreen(new Picture(document.createElement('canvas')), {
    failed: (message) => decoderFailed.abort(new Error(`cannot show the recording: ${message}`)),
  });
  const sample = async (frames: VideoFrameTime[]): Promise<void> => {
    if (frames.length === 0) return;
    await screen.painted(run);
    for (const frame of frames) {
      run.throwIfAborted();
      await video.add(screen.picture.canvas, frame);
      progress('encoding', (frame.index + 1) / timeline.count);
    }
  };
  try {
    screen.startOver();
    for await (const record of records.file.records(records.from, records.end, run)) {
      run.throwIfAborted();
      await sample(timeline.before(record.delayMs));
      const message = readRecordedMessage(record);
      if (message?.kind === 'serverHello' || message?.kind === 'clientScreenSpec') {
        await screen.resize(message.value.width, message.value.height, run);
      } else if (message?.kind === 'frameRect') {
        await screen.draw(message.value, record.offset, run);
      }
    }
    await sample(timeline.rest());
  } finally {
    screen.dispose();
  }
}
