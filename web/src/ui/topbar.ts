// The top bar of the list pages: who and which cluster, the links to the
// pages this user's roles open (.topbar-nav a[data-nav]), and the Account
// link beside Log out. The server still decides each page; the links only
// spare a refusal.
import type { Me } from '../api';
import { find } from '../dom';

export function fillTopbar(page: HTMLElement, who: Me): void {
  find(page, '.topbar-user', HTMLElement).textContent = who.user;
  find(page, '.topbar-cluster', HTMLElement).textContent = who.cluster;
  const allowed: Record<string, boolean> = { audit: who.canReadEvents, recordings: who.canListRecordings };
  const nav = find(page, '.topbar-nav', HTMLElement);
  let offered = false;
  for (const link of nav.querySelectorAll<HTMLElement>('[data-nav]')) {
    // The page itself stays named, so one that refused still says where the user is.
    link.hidden = !(allowed[link.dataset['nav'] ?? ''] ?? false) && link.getAttribute('aria-current') !== 'page';
    offered ||= !link.hidden;
  }
  // Desktops alone is no choice, on the desktop list; elsewhere (the Account page) it is the way back.
  nav.hidden = !offered && nav.querySelector('[aria-current="page"]') !== null;
}
