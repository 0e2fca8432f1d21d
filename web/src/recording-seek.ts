// Where to read from to show a moment of a recording (docs/recording.md,
// "Seeking"): the last keyframe at or before it, after the records it needs
// (screen size, cursor). Pure, so the plan is tested without a file.
import type { RecordingIndex } from './recording-format';

export interface SeekPlan {
  /** The moment to show, within the recording. */
  target: number;
  /** Records to apply first, in order, by file offset. */
  context: readonly number[];
  /** The file offset to read records from, up to the target without waiting. */
  from: number;
  /** The keyframe's time, or null when no keyframe comes before the target and the records are read from the first. */
  keyframe: number | null;
}

/**
 * The plan to show `target` ms into the recording. Before the first
 * keyframe there is nothing to skip to: the records are read from the first
 * one (`recordsStart`), which is the session's own start.
 */
export function planSeek(index: RecordingIndex, target: number, recordsStart: number): SeekPlan {
  const clamped = Math.min(Math.max(target, 0), index.durationMs);
  const keyframe = lastKeyframeAt(index, clamped);
  if (keyframe === null) return { target: clamped, context: [], from: recordsStart, keyframe: null };
  return { target: clamped, context: keyframe.context, from: keyframe.offset, keyframe: keyframe.t };
}

/** Binary search: the keyframes are in time order (readIndex checks). */
function lastKeyframeAt(index: RecordingIndex, t: number): RecordingIndex['keyframes'][number] | null {
  const { keyframes } = index;
  let low = 0;
  let high = keyframes.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (keyframes[middle]!.t <= t) low = middle + 1;
    else high = middle;
  }
  return low === 0 ? null : keyframes[low - 1]!;
}
