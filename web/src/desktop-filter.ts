// Which desktops the list shows: a search over name, hostname and labels,
// narrowed by label chips the user picked. Pure, so it is easy to test.
import type { Desktop } from './api';

export interface Label {
  key: string;
  value: string;
}

export interface DesktopFilter {
  /** Words typed in the search box; a desktop must match every word. */
  search: string;
  /** Labels a desktop must all carry, exactly. */
  labels: readonly Label[];
}

export function matches(desktop: Desktop, filter: DesktopFilter): boolean {
  for (const { key, value } of filter.labels) {
    if (desktop.labels[key] !== value) return false;
  }
  const words = filter.search.toLowerCase().split(/\s+/).filter((word) => word !== '');
  if (words.length === 0) return true;
  const haystack = [desktop.name, desktop.hostname];
  for (const [key, value] of Object.entries(desktop.labels)) haystack.push(key, value, `${key}=${value}`, `${key}:${value}`);
  const lowered = haystack.map((text) => text.toLowerCase());
  return words.every((word) => lowered.some((text) => text.includes(word)));
}

export function sameLabel(a: Label, b: Label): boolean {
  return a.key === b.key && a.value === b.value;
}

/** A desktop's labels, sorted by key for a steady display. */
export function labelsOf(desktop: Desktop): Label[] {
  return Object.entries(desktop.labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => ({ key, value }));
}
