// The session toolbar: a thin bar above the desktop, in the page's flow, so
// the remote screen gets the rest of the window and nothing covers its top
// row (where a desktop's panel keeps its clock and tray).
//
// It owns the connection status (#status, a StatusBar: `toolbar.status`),
// the Keys menu (keys the browser keeps for itself), Full screen with
// keyboard lock, End session (with an inline confirmation; Leave, without
// one, for a user who joined another's session), the participants count
// and the keyboard layout's name. The Clipboard, Share directory and Log
// out buttons sit in it too but keep their own classes (ClipboardPanel,
// ShareDirectoryButton, offerLogout), and the participants button opens
// the ParticipantsPanel.
import { find } from '../dom';
import { keyComboNamed, type KeyCombo } from '../key-combos';
import { LAYOUTS } from '../keyboard-layout';
import type { Participation } from '../participants';
import type { SessionState } from '../session';
import { StatusBar } from './status';

/** The Keyboard Lock API, where the browser has it (Chromium). */
interface KeyboardLock {
  lock?(codes?: string[]): Promise<void>;
  unlock?(): void;
}

function keyboardLock(): KeyboardLock | undefined {
  return (navigator as Navigator & { keyboard?: KeyboardLock }).keyboard;
}

const FULLSCREEN_TITLE =
  'Full screen: the desktop takes the whole screen, and shortcuts the browser would take (Ctrl+W, Alt+Tab where the system allows it) go to the desktop. Hold Esc to leave full screen';
const FULLSCREEN_TITLE_NO_LOCK =
  'Full screen: the desktop takes the whole screen. Press Esc to leave full screen (this browser keeps its own shortcuts: use Keys to send them)';

export class Toolbar {
  /** The connection state, latency and Reconnect. Use this one; a second StatusBar on #status would double Reconnect's listener. */
  readonly status: StatusBar;
  readonly #page: HTMLElement;
  readonly #canvas: HTMLCanvasElement;
  readonly #keysButton: HTMLButtonElement;
  /** Ctrl+Alt+Del on the toolbar itself, for Windows desktops. */
  readonly #ctrlAltDel: HTMLButtonElement;
  readonly #keysMenu: HTMLElement;
  readonly #keyItems: HTMLButtonElement[];
  readonly #fullscreen: HTMLButtonElement;
  readonly #end: HTMLButtonElement;
  readonly #endConfirmation: HTMLElement;
  readonly #endConfirm: HTMLButtonElement;
  readonly #endCancel: HTMLButtonElement;
  readonly #participants: HTMLButtonElement;
  readonly #participantsCount: HTMLElement;
  readonly #layout: HTMLElement;
  /** End session's words as index.html has them; a participant's button says Leave instead. */
  readonly #endText: string;
  readonly #endTitle: string;
  readonly #listeners = new AbortController();
  #onKeys: ((combo: KeyCombo) => void) | null = null;
  #onEndSession: (() => void) | null = null;
  #keyboardLocked = false;
  #participation: Participation = 'owner';
  #state: SessionState = 'connecting';

  /** `page` is the session page's root (the `.session` element of `<template id=session-page>`). */
  constructor(page: HTMLElement) {
    this.#page = page;
    this.#canvas = find(page, '#screen', HTMLCanvasElement);
    this.#keysButton = find(page, '#keys-menu', HTMLButtonElement);
    this.#ctrlAltDel = find(page, '#ctrl-alt-del', HTMLButtonElement);
    this.#keysMenu = find(page, '#keys-menu-list', HTMLElement);
    this.#keyItems = [...this.#keysMenu.querySelectorAll<HTMLButtonElement>('button[data-combo]')];
    this.#fullscreen = find(page, '#fullscreen', HTMLButtonElement);
    this.#end = find(page, '#disconnect', HTMLButtonElement);
    this.#endConfirmation = find(page, '#disconnect-confirmation', HTMLElement);
    this.#endConfirm = find(page, '#disconnect-confirm', HTMLButtonElement);
    this.#endCancel = find(page, '#disconnect-cancel', HTMLButtonElement);
    this.#participants = find(page, '#participants', HTMLButtonElement);
    this.#participantsCount = find(page, '.participants-count', HTMLElement);
    this.#layout = find(page, '#keyboard-layout-name', HTMLElement);
    this.#endText = this.#end.textContent ?? '';
    this.#endTitle = this.#end.title;
    this.status = new StatusBar(find(page, '#status', HTMLElement), (state) => this.#stateChanged(state));

    const signal = this.#listeners.signal;
    this.#listenKeysMenu(signal);
    this.#ctrlAltDel.addEventListener('click', () => this.#onKeys?.('ctrl-alt-del'), { signal });
    this.#listenFullscreen(signal);
    this.#listenEndSession(signal);
    // As index.html starts #status, until the session shows a state.
    this.#stateChanged('connecting');
  }

  /** `handler` gets the combo picked in the Keys menu; the page sends its presses (comboPresses). */
  onKeys(handler: (combo: KeyCombo) => void): void {
    this.#onKeys = handler;
  }

  /**
   * `handler` runs once the person confirmed End session, or pressed Leave
   * in another's session; the page ends the session now, or leaves it.
   */
  onEndSession(handler: () => void): void {
    this.#onEndSession = handler;
  }

  /**
   * How this page takes part in the session: an invited user leaves rather
   * than ends it, and an observer has no keys to send.
   */
  setParticipation(participation: Participation): void {
    this.#participation = participation;
    const owner = participation === 'owner';
    this.#end.textContent = owner ? this.#endText : 'Leave';
    this.#end.title = owner ? this.#endTitle : 'Leave the session: it goes on for its owner and the others in it';
    this.#stateChanged(this.#state);
  }

  /**
   * Which kind of desktop this is: a Windows desktop gets Ctrl+Alt+Del on
   * the toolbar itself (its sign-in and lock screens ask for it), beside
   * the Keys menu every desktop has.
   */
  setDesktopKind(kind: 'linux' | 'windows'): void {
    this.#ctrlAltDel.hidden = kind !== 'windows';
  }

  /** Shows how many people are in the session (only while connected); null hides the button. */
  setParticipants(count: number | null): void {
    this.#participants.hidden = count === null;
    if (count === null) return;
    this.#participantsCount.textContent = String(count);
    const people = `${count} ${count === 1 ? 'person' : 'people'} in this session`;
    this.#participants.setAttribute('aria-label', people);
    this.#participants.title = people;
  }

  /** Shows the XKB layout the desktop uses for this browser's keys (e.g. `de`, `ch(fr)`). */
  setKeyboardLayout(name: string): void {
    this.#layout.hidden = name === '';
    this.#layout.textContent = name;
    const label = LAYOUTS.find((layout) => layout.name === name)?.label ?? name;
    this.#layout.title = `Keyboard layout: ${label}. The desktop makes characters from your keys as this layout does; change it on the Desktops page, for the sessions you open next`;
  }

  /** Leaves full screen, unlocks the keyboard and drops the toolbar's document listeners. */
  dispose(): void {
    this.#listeners.abort();
    this.#closeMenu(null);
    this.#unlockKeyboard();
    if (document.fullscreenElement === this.#page) void document.exitFullscreen().catch(() => {});
  }

  /** Keys and End session need a connection to send on; an observer sends no keys. */
  #stateChanged(state: SessionState): void {
    this.#state = state;
    const connected = state === 'connected';
    this.#keysButton.disabled = !connected || this.#participation === 'observer';
    this.#ctrlAltDel.disabled = this.#keysButton.disabled;
    this.#end.disabled = !connected;
    if (!connected) {
      this.#closeMenu(null);
      this.#closeConfirmation(false);
      // The server lists the people again once connected.
      this.setParticipants(null);
    } else if (this.#keysButton.disabled) {
      this.#closeMenu(null);
    }
  }

  #listenKeysMenu(signal: AbortSignal): void {
    this.#keysButton.addEventListener(
      'click',
      () => (this.#keysMenu.hidden ? this.#openMenu(0) : this.#closeMenu('button')),
      { signal },
    );
    this.#keysButton.addEventListener(
      'keydown',
      (e) => {
        if (e.key === 'Escape' && !this.#keysMenu.hidden) {
          e.preventDefault();
          this.#closeMenu(null);
        } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
          e.preventDefault();
          this.#openMenu(e.key === 'ArrowDown' ? 0 : this.#keyItems.length - 1);
        }
      },
      { signal },
    );
    this.#keysMenu.addEventListener('keydown', (e) => this.#menuKey(e), { signal });
    for (const item of this.#keyItems) {
      const combo = keyComboNamed(item.dataset['combo'] ?? '');
      if (combo === null) throw new Error(`the Keys menu has an item for no combo: ${item.id}`);
      item.addEventListener(
        'click',
        () => {
          this.#onKeys?.(combo);
          this.#closeMenu('desktop');
        },
        { signal },
      );
    }
    // A press anywhere else closes the menu; the press itself goes where it was aimed.
    document.addEventListener(
      'pointerdown',
      (e) => {
        const target = e.target instanceof Node ? e.target : null;
        if (this.#keysMenu.hidden || this.#keysMenu.contains(target) || this.#keysButton.contains(target)) return;
        this.#closeMenu(null);
      },
      { signal, capture: true },
    );
    // Tabbing away closes it too.
    this.#keysMenu.addEventListener(
      'focusout',
      (e) => {
        const next = e.relatedTarget instanceof Node ? e.relatedTarget : null;
        if (next !== null && !this.#keysMenu.contains(next) && next !== this.#keysButton) this.#closeMenu(null);
      },
      { signal },
    );
  }

  #menuKey(e: KeyboardEvent): void {
    const items = this.#keyItems;
    const at = items.findIndex((item) => item === document.activeElement);
    let next: number;
    switch (e.key) {
      case 'Escape':
        e.preventDefault();
        this.#closeMenu('button');
        return;
      case 'ArrowDown':
        next = (at + 1) % items.length;
        break;
      case 'ArrowUp':
        next = (at - 1 + items.length) % items.length;
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = items.length - 1;
        break;
      default:
        return;
    }
    e.preventDefault();
    items[next]?.focus();
  }

  #openMenu(focusItem: number): void {
    if (this.#keysButton.disabled) return;
    this.#closeConfirmation(false);
    this.#keysMenu.hidden = false;
    this.#keysButton.setAttribute('aria-expanded', 'true');
    this.#keyItems[focusItem]?.focus();
  }

  /** `focus`: where the focus goes, the Keys button, the desktop, or nowhere (it stays where the person put it). */
  #closeMenu(focus: 'button' | 'desktop' | null): void {
    if (this.#keysMenu.hidden) return;
    this.#keysMenu.hidden = true;
    this.#keysButton.setAttribute('aria-expanded', 'false');
    if (focus === 'button') this.#keysButton.focus();
    else if (focus === 'desktop') this.#focusDesktop();
  }

  #listenFullscreen(signal: AbortSignal): void {
    // Not offered where the page may not go full screen (an iframe without allow="fullscreen", iOS Safari).
    this.#fullscreen.hidden = !document.fullscreenEnabled;
    this.#fullscreen.title = keyboardLock()?.lock === undefined ? FULLSCREEN_TITLE_NO_LOCK : FULLSCREEN_TITLE;
    this.#fullscreen.addEventListener(
      'click',
      () => {
        if (document.fullscreenElement === this.#page) {
          void document.exitFullscreen().catch((error: unknown) => console.warn('oriel: leaving full screen failed', error));
        } else {
          this.#page
            .requestFullscreen({ navigationUI: 'hide' })
            .catch((error: unknown) => console.warn('oriel: full screen refused', error));
        }
      },
      { signal },
    );
    // Esc (or F11, or the browser's own exit) leaves without the button: follow the document, not the click.
    document.addEventListener('fullscreenchange', () => this.#fullscreenChanged(), { signal });
    this.#fullscreenChanged();
  }

  #fullscreenChanged(): void {
    const on = document.fullscreenElement === this.#page;
    this.#fullscreen.textContent = on ? 'Exit full screen' : 'Full screen';
    this.#fullscreen.setAttribute('aria-pressed', String(on));
    if (on) {
      this.#lockKeyboard();
      // The button took the focus; the keys are for the desktop.
      this.#focusDesktop();
    } else {
      this.#unlockKeyboard();
    }
  }

  /** In full screen the browser hands the desktop the keys it would take (Ctrl+W, Alt+Tab where the system lets it, Esc). */
  #lockKeyboard(): void {
    const keyboard = keyboardLock();
    if (keyboard?.lock === undefined) return;
    this.#keyboardLocked = true;
    keyboard.lock().catch((error: unknown) => {
      this.#keyboardLocked = false;
      console.warn('oriel: keyboard lock refused', error);
    });
  }

  #unlockKeyboard(): void {
    if (!this.#keyboardLocked) return;
    this.#keyboardLocked = false;
    keyboardLock()?.unlock?.();
  }

  #listenEndSession(signal: AbortSignal): void {
    this.#end.addEventListener(
      'click',
      () => {
        this.#closeMenu(null);
        // Leaving takes nothing from anyone: a reload joins again.
        if (this.#participation !== 'owner') {
          this.#onEndSession?.();
          return;
        }
        this.#end.hidden = true;
        this.#endConfirmation.hidden = false;
        // No is the safe answer for a second Enter.
        this.#endCancel.focus();
      },
      { signal },
    );
    this.#endConfirm.addEventListener(
      'click',
      () => {
        this.#closeConfirmation(false);
        this.#onEndSession?.();
      },
      { signal },
    );
    this.#endCancel.addEventListener('click', () => this.#closeConfirmation(true), { signal });
    this.#endConfirmation.addEventListener(
      'keydown',
      (e) => {
        if (e.key !== 'Escape') return;
        e.preventDefault();
        this.#closeConfirmation(true);
      },
      { signal },
    );
  }

  /** `giveBackFocus`: the question was answered No, so the focus goes back to the desktop. */
  #closeConfirmation(giveBackFocus: boolean): void {
    if (this.#endConfirmation.hidden) return;
    this.#endConfirmation.hidden = true;
    this.#end.hidden = false;
    if (giveBackFocus) this.#focusDesktop();
  }

  #focusDesktop(): void {
    this.#canvas.focus({ preventScroll: true });
  }
}
