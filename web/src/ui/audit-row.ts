// One event in the audit table: a row (details button, time, event, code,
// user, session, summary) and, under it, a details row with the event's JSON,
// built the first time it is opened.
// Test hooks: tr[data-event-uid], [data-details], [data-session], .audit-details pre.
import type { AuditEventView } from '../api';
import { eventJson, eventLabel, summary } from '../audit-event';

export interface AuditRowActions {
  /** Shows only the events of session `sid`. */
  filterBySession(sid: string): void;
}

const COLUMNS = 7;

const LOCAL_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** The event's row and its details row, in table order. */
export function auditRows(event: AuditEventView, actions: AuditRowActions): [HTMLTableRowElement, HTMLTableRowElement] {
  const row = document.createElement('tr');
  row.dataset['eventUid'] = event.uid;
  if (!event.success) row.classList.add('failed');
  const label = eventLabel(event.event);
  const utc = event.time.toISOString();

  const details = document.createElement('tr');
  details.className = 'audit-details';
  details.id = `event-${event.uid}`;
  details.hidden = true;
  const detailsCell = document.createElement('td');
  detailsCell.colSpan = COLUMNS;
  details.append(detailsCell);

  const toggle = document.createElement('button');
  toggle.type = 'button';
  toggle.className = 'disclosure';
  toggle.dataset['details'] = '';
  toggle.setAttribute('aria-expanded', 'false');
  toggle.setAttribute('aria-controls', details.id);
  toggle.setAttribute('aria-label', `Details of ${label} at ${LOCAL_TIME.format(event.time)}`);
  toggle.title = 'Show the event’s JSON';
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    if (open && detailsCell.childElementCount === 0) {
      const json = document.createElement('pre');
      json.textContent = eventJson(event);
      detailsCell.append(json);
    }
    toggle.setAttribute('aria-expanded', String(open));
    details.hidden = !open;
  });

  const time = document.createElement('time');
  time.dateTime = utc;
  time.title = utc;
  time.textContent = LOCAL_TIME.format(event.time);

  const type = cell();
  type.className = 'audit-event';
  const name = document.createElement('span');
  name.textContent = label;
  type.append(name);
  if (!event.success) {
    const failed = document.createElement('span');
    failed.className = 'badge';
    failed.textContent = 'failed';
    type.append(' ', failed);
  }
  if (label !== event.event) {
    const raw = document.createElement('small');
    raw.className = 'audit-type';
    raw.textContent = event.event;
    type.append(raw);
  }

  const code = cell(event.code);
  code.className = 'audit-code';

  const user = event.user === '' ? cell(muted('none')) : cell(event.user);
  user.className = 'audit-user';

  const session = cell();
  session.className = 'audit-session';
  if (event.sid !== null) {
    const sid = event.sid;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'link-button';
    button.dataset['session'] = sid;
    // A session id is a UUID; its start tells sessions apart on one screen.
    button.textContent = sid.length > 8 ? `${sid.slice(0, 8)}…` : sid;
    button.title = `${sid}: show only this session’s events`;
    button.setAttribute('aria-label', `Show only the events of session ${sid}`);
    button.addEventListener('click', () => actions.filterBySession(sid));
    session.append(button);
  }

  const about = cell(summary(event));
  about.className = 'audit-summary';

  // The time names the row for a screen reader.
  const when = document.createElement('th');
  when.scope = 'row';
  when.className = 'audit-time';
  when.append(time);

  row.append(cell(toggle), when, type, code, user, session, about);
  return [row, details];
}

function muted(text: string): HTMLSpanElement {
  const span = document.createElement('span');
  span.className = 'muted';
  span.textContent = text;
  return span;
}

function cell(content?: string | Node): HTMLTableCellElement {
  const td = document.createElement('td');
  if (content !== undefined) td.append(content);
  return td;
}
