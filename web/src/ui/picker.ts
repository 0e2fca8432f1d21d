// The xsession picker, shown when the desktop offers more than one session.

/** Shows one button per xsession; returns a function that removes the picker. */
export function showXSessionPicker(parent: HTMLElement, names: readonly string[], pick: (name: string) => void): () => void {
  const dialog = document.createElement('div');
  dialog.className = 'picker';
  dialog.setAttribute('role', 'dialog');
  dialog.setAttribute('aria-labelledby', 'picker-title');
  const title = document.createElement('h2');
  title.id = 'picker-title';
  title.textContent = 'Choose a desktop session';
  const list = document.createElement('div');
  list.className = 'picker-list';
  for (const name of names) {
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset['xsession'] = name;
    button.textContent = name;
    button.addEventListener('click', () => {
      dialog.remove();
      pick(name);
    });
    list.append(button);
  }
  dialog.append(title, list);
  parent.append(dialog);
  list.querySelector('button')?.focus();
  return () => dialog.remove();
}
