// The keyboard layout setting: Automatic (what the browser detects) or one
// the person picks, kept in this browser and used by every new session.
import { LAYOUTS, detectLayout, saveLayout, savedLayout } from '../keyboard-layout';

export function keyboardSetting(select: HTMLSelectElement): void {
  const automatic = new Option('Automatic', '');
  const saved = savedLayout();
  const options = LAYOUTS.map(({ name, label }) => new Option(label, name));
  // A layout saved by another version of this page stays selectable.
  if (saved !== null && !LAYOUTS.some(({ name }) => name === saved)) options.push(new Option(saved, saved));
  select.replaceChildren(automatic, ...options);
  select.value = saved ?? '';
  select.addEventListener('change', () => saveLayout(select.value === '' ? null : select.value));
  void detectLayout().then((name) => {
    const label = LAYOUTS.find((layout) => layout.name === name)?.label ?? name;
    automatic.textContent = `Automatic (${label})`;
  });
}
