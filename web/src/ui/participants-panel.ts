// The participants panel: who is in the session and how (owner, peer,
// observer). Its owner also invites users by name (each gets a join link to
// open), withdraws invitations and removes participants; anyone else sees
// the list only. The toolbar's People button opens it; the button shows,
// with the count, while connected to a server that lists participants.
import { find, say } from '../dom';
import type { Participants, Participation } from '../participants';
import type { JoinMode } from '../route';

/** What the owner's panel does; the page backs it with the session. */
export interface Sharing {
  /** Lets `user` join as `mode`; returns the link they open to join, or null while there is no session to join. */
  invite(user: string, mode: JoinMode): string | null;
  /** Withdraws `user`'s invitation. */
  withdraw(user: string): void;
  /** Sends the participant `viewer` away. */
  remove(viewer: number): void;
  /** The link an invited user opens to join as `mode`; null while there is no session to join. */
  link(mode: JoinMode): string | null;
}

const MODE_TEXT: Record<Participation, string> = { owner: 'owner', peer: 'peer', observer: 'observer' };
const MODE_TITLE: Record<Participation, string> = {
  owner: 'Started the session: invites, removes, ends it',
  peer: 'Uses the mouse and keyboard too',
  observer: 'Watches: sends no input',
};

export class ParticipantsPanel {
  readonly #toggle: HTMLButtonElement;
  readonly #panel: HTMLElement;
  readonly #title: HTMLElement;
  readonly #list: HTMLUListElement;
  readonly #owner: HTMLElement;
  readonly #invited: HTMLUListElement;
  readonly #nobodyInvited: HTMLElement;
  readonly #form: HTMLFormElement;
  readonly #user: HTMLInputElement;
  readonly #mode: HTMLSelectElement;
  readonly #error: HTMLElement;
  readonly #linkRow: HTMLElement;
  readonly #link: HTMLInputElement;
  readonly #status: HTMLElement;
  readonly #done: () => void;
  /** The owner's actions; null for anyone else, and between sessions. */
  #sharing: Sharing | null = null;

  /** `done` gives the focus back to the desktop. */
  constructor(page: HTMLElement, done: () => void) {
    this.#toggle = find(page, '#participants', HTMLButtonElement);
    this.#panel = find(page, '#participants-panel', HTMLElement);
    this.#title = find(page, '#participants-title', HTMLElement);
    this.#list = find(page, '#participants-list', HTMLUListElement);
    this.#owner = find(page, '#participants-owner', HTMLElement);
    this.#invited = find(page, '#invited-list', HTMLUListElement);
    this.#nobodyInvited = find(page, '#invited-none', HTMLElement);
    this.#form = find(page, '#participants-invite', HTMLFormElement);
    this.#user = find(page, '#invite-user', HTMLInputElement);
    this.#mode = find(page, '#invite-mode', HTMLSelectElement);
    this.#error = find(page, '#participants-invite-error', HTMLElement);
    this.#linkRow = find(page, '#participants-link-row', HTMLElement);
    this.#link = find(page, '#invite-link', HTMLInputElement);
    this.#status = find(page, '#participants-invite-status', HTMLElement);
    this.#done = done;
    this.#toggle.addEventListener('click', () => (this.#panel.hidden ? this.#open() : this.#close()));
    find(page, '#participants-close', HTMLButtonElement).addEventListener('click', () => this.#close());
    this.#panel.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.#close();
    });
    this.#form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.#invite();
    });
    find(page, '#invite-copy', HTMLButtonElement).addEventListener('click', () => void this.#copy());
    this.#list.addEventListener('click', (e) => this.#listClick(e));
    this.#invited.addEventListener('click', (e) => this.#invitedClick(e));
  }

  /** Connected as `participation`: the owner's panel gets `sharing`, anyone else's shows the list only. */
  start(participation: Participation, sharing: Sharing | null): void {
    this.#sharing = participation === 'owner' ? sharing : null;
    this.#owner.hidden = this.#sharing === null;
    this.#panel.dataset['participation'] = participation;
  }

  /** The server's latest list. */
  show({ participants, invited }: Participants): void {
    // A button that goes with the list it was in would take the focus with it.
    const focusWasHere = this.#list.contains(document.activeElement) || this.#invited.contains(document.activeElement);
    const owner = this.#sharing !== null;
    this.#list.replaceChildren(
      ...participants.map((participant) => {
        const item = listItem('participant', participant.user, participant.mode);
        item.dataset['viewer'] = String(participant.viewer);
        if (participant.you) {
          const you = document.createElement('span');
          you.className = 'participant-you';
          you.textContent = '(you)';
          item.append(' ', you);
        }
        if (owner && !participant.you && participant.mode !== 'owner') {
          item.append(itemButton('participant-remove', 'Remove', `Remove ${participant.user} from the session`));
        }
        return item;
      }),
    );
    this.#invited.replaceChildren(
      ...invited.map((invitation) => {
        const item = listItem('invitation', invitation.user, invitation.mode);
        item.dataset['user'] = invitation.user;
        item.append(
          itemButton('invitation-link', 'Link', `Show the link ${invitation.user} opens to join`),
          itemButton('invitation-withdraw', 'Withdraw', `Withdraw ${invitation.user}'s invitation`),
        );
        return item;
      }),
    );
    this.#nobodyInvited.hidden = invited.length !== 0;
    if (focusWasHere) this.#title.focus();
  }

  /** The session is not connected (or over): the panel closes and forgets the owner's actions. */
  stop(): void {
    this.#sharing = null;
    this.#close(false);
    this.#owner.hidden = true;
    this.#linkRow.hidden = true;
    this.#link.value = '';
    say(this.#error, null);
    this.#status.textContent = '';
  }

  #open(): void {
    this.#panel.hidden = false;
    this.#toggle.setAttribute('aria-expanded', 'true');
    if (this.#sharing !== null) this.#user.focus();
    else this.#title.focus();
  }

  #close(giveBackFocus = true): void {
    if (this.#panel.hidden) return;
    this.#panel.hidden = true;
    this.#toggle.setAttribute('aria-expanded', 'false');
    if (giveBackFocus) this.#done();
  }

  #invite(): void {
    const sharing = this.#sharing;
    if (sharing === null) return;
    const user = this.#user.value.trim();
    const mode: JoinMode = this.#mode.value === 'peer' ? 'peer' : 'observer';
    if (user === '') {
      this.#refuse('type the Oriel user name of the person to invite');
      return;
    }
    const link = sharing.invite(user, mode);
    if (link === null) {
      this.#refuse('the session is not connected: invite once it is');
      return;
    }
    this.#refuse(null);
    this.#user.value = '';
    this.#showLink(link, `${user} may join as ${MODE_TEXT[mode]}: send them this link (their roles must allow joining sessions).`);
  }

  #refuse(message: string | null): void {
    say(this.#error, message);
    this.#user.setAttribute('aria-invalid', String(message !== null));
    if (message !== null) this.#user.focus();
  }

  #showLink(link: string, status: string): void {
    this.#link.value = link;
    this.#linkRow.hidden = false;
    this.#status.textContent = status;
  }

  async #copy(): Promise<void> {
    const link = this.#link.value;
    if (link === '') return;
    try {
      // Absent outside a secure context; refused without the permission.
      if (navigator.clipboard === undefined) throw new Error('no clipboard');
      await navigator.clipboard.writeText(link);
      this.#status.textContent = 'The link is copied.';
    } catch {
      this.#link.focus();
      this.#link.select();
      this.#status.textContent = 'The browser does not let Oriel copy: the link is selected, press Ctrl+C (⌘C) to copy it.';
    }
  }

  #listClick(e: MouseEvent): void {
    const button = clicked(e, 'participant-remove');
    const viewer = Number(button?.closest<HTMLElement>('li.participant')?.dataset['viewer']);
    if (button === null || !Number.isInteger(viewer)) return;
    button.disabled = true;
    this.#sharing?.remove(viewer);
  }

  #invitedClick(e: MouseEvent): void {
    const withdraw = clicked(e, 'invitation-withdraw');
    const show = clicked(e, 'invitation-link');
    const item = (withdraw ?? show)?.closest<HTMLElement>('li.invitation');
    const user = item?.dataset['user'];
    if (item === undefined || item === null || user === undefined) return;
    if (withdraw !== null) {
      withdraw.disabled = true;
      this.#sharing?.withdraw(user);
      return;
    }
    const mode: JoinMode = item.dataset['mode'] === 'peer' ? 'peer' : 'observer';
    const link = this.#sharing?.link(mode) ?? null;
    if (link !== null) this.#showLink(link, `The link ${user} opens to join as ${MODE_TEXT[mode]}.`);
  }
}

/** `li.<className>[data-mode]`: the user's name and how they take part. */
function listItem(className: string, user: string, mode: Participation): HTMLLIElement {
  const item = document.createElement('li');
  item.className = className;
  item.dataset['mode'] = mode;
  const name = document.createElement('span');
  name.className = 'participant-user';
  name.textContent = user;
  const how = document.createElement('span');
  how.className = 'participant-mode';
  how.textContent = MODE_TEXT[mode];
  how.title = MODE_TITLE[mode];
  item.append(name, ' ', how);
  return item;
}

function itemButton(className: string, text: string, label: string): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = `${className} secondary`;
  button.textContent = text;
  button.setAttribute('aria-label', label);
  button.title = label;
  return button;
}

/** The button of class `className` the click was on, if any. */
function clicked(e: MouseEvent, className: string): HTMLButtonElement | null {
  const target = e.target instanceof Element ? e.target.closest('button') : null;
  return target !== null && target.classList.contains(className) ? target : null;
}
