// One recording in the recordings table: start, user, desktop, login,
// duration, size, and the link to its player.
// Test hooks: tr[data-recording-id], a[data-play].
import type { RecordingSummary } from '../api';
import { formatDuration } from '../duration';
import { formatSize } from '../file-size';
import { recordingPath } from '../route';

const LOCAL_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function recordingRow(recording: RecordingSummary): HTMLTableRowElement {
  const row = document.createElement('tr');
  row.dataset['recordingId'] = recording.id;
  const where = `${recording.login}@${recording.desktop}`;

  const play = document.createElement('a');
  play.href = recordingPath(recording.id);
  play.dataset['play'] = '';
  const utc = recording.start.toISOString();
  const time = document.createElement('time');
  time.dateTime = utc;
  time.title = utc;
  time.textContent = LOCAL_TIME.format(recording.start);
  play.append(time);
  play.setAttribute('aria-label', `Play the recording of ${where} from ${LOCAL_TIME.format(recording.start)}`);

  // The start names the row for a screen reader.
  const start = document.createElement('th');
  start.scope = 'row';
  start.className = 'recording-start';
  start.append(play);

  const others = recording.participants.filter((name) => name !== recording.user);
  const user = cell(recording.user);
  if (others.length > 0) {
    const company = document.createElement('small');
    company.className = 'recording-participants';
    company.textContent = `with ${others.join(', ')}`;
    user.append(company);
  }
  user.className = 'recording-user';

  const duration = cell(formatDuration(recording.durationMs));
  duration.className = 'number';
  const size = cell(formatSize(recording.size));
  size.className = 'number';

  row.append(start, user, cell(recording.desktop), cell(recording.login), duration, size);
  return row;
}

function cell(content: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = content;
  return td;
}
