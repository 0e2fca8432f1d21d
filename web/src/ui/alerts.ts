// Alerts from the desktop: INFO and WARNING as toasts, ERROR (and the
// client's own fatal errors) as a blocking overlay. Each is an
// .alert[data-severity] element.

export type Severity = 'info' | 'warning' | 'error';

const TOAST_MS = 8000;

export class Alerts {
  readonly #root: HTMLElement;

  constructor(root: HTMLElement) {
    this.#root = root;
  }

  toast(severity: Exclude<Severity, 'error'>, message: string): void {
    const toast = alertElement(severity, 'alert toast');
    toast.textContent = message;
    toast.setAttribute('role', severity === 'warning' ? 'alert' : 'status');
    toast.addEventListener('click', () => toast.remove());
    this.#root.append(toast);
    setTimeout(() => toast.remove(), TOAST_MS);
  }

  /** Covers the screen: the session is over. */
  ended(title: string, message: string): void {
    this.#root.querySelector('.overlay')?.remove();
    const overlay = alertElement('error', 'alert overlay');
    overlay.setAttribute('role', 'alertdialog');
    const heading = document.createElement('h2');
    heading.textContent = title;
    const text = document.createElement('p');
    text.textContent = message;
    overlay.append(heading, text);
    this.#root.append(overlay);
  }

  clear(): void {
    this.#root.replaceChildren();
  }
}

function alertElement(severity: Severity, className: string): HTMLElement {
  const element = document.createElement('div');
  element.className = className;
  element.dataset['severity'] = severity;
  return element;
}
