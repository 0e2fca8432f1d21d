// An address under /web that names no page.
import { mount } from '../dom';

export function showUnknown(app: HTMLElement): void {
  document.title = 'Not found · Oriel';
  mount(app, 'unknown-page');
}
