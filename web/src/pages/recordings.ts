// Session recordings: newest first, filtered by time range, user and
// desktop, a page at a time; each row opens its player. Only for users
// whose roles may list sessions; others get a page that says what it takes.
import { listRecordings } from '../api';
import { find, mount } from '../dom';
import { EMPTY_FILTER, queryOf } from '../recording-filter';
import { offerLogout } from '../ui/logout';
import { PagedList } from '../ui/paged-list';
import { recordingRow } from '../ui/recording-row';

/** Recordings asked for at once; Load more fetches the next. */
const PAGE_SIZE = 100;

export async function showRecordings(app: HTMLElement): Promise<void> {
  document.title = 'Recordings · Oriel';
  const page = mount(app, 'recordings-page');
  offerLogout(find(page, '#logout', HTMLButtonElement));
  const user = find(page, '#recordings-user', HTMLInputElement);
  const desktop = find(page, '#recordings-desktop', HTMLInputElement);

  const recordings = new PagedList(page, {
    name: 'recordings',
    what: 'the recordings',
    nouns: { one: 'recording', many: 'recordings' },
    pageSize: PAGE_SIZE,
    mayList: (who) => who.canListRecordings,
    emptyFilter: EMPTY_FILTER,
    fill: (filter) => {
      user.value = filter.user;
      desktop.value = filter.desktop;
    },
    read: (time) => ({ ...time, user: user.value, desktop: desktop.value }),
    queryOf,
    list: async (query) => {
      const { recordings, nextPage } = await listRecordings(query);
      return { items: recordings, nextPage };
    },
    rows: (recording) => [recordingRow(recording)],
    focusInRow: '[data-play]',
  });
  await recordings.show();
}
