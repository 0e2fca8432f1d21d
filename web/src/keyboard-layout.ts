// Which keyboard layout the desktop gets (ClientHello.keyboardLayoutName).
//
// The browser sends physical keys, so the desktop's XKB layout decides what
// they type; it has to be the layout printed on the person's keyboard. The
// person can pick it (stored in this browser); otherwise it is guessed from
// what the keys make (navigator.keyboard.getLayoutMap(), Chromium only),
// else from the browser's language, else US.

export interface KeyboardLayout {
  /** XKB layout name, as the desktop's setxkbmap takes it. */
  name: string;
  /** Windows layout id (KLID), as Teleport sends it; 0 if none. */
  klid: number;
}

/** Layouts offered in the setting, in the order shown. */
export const LAYOUTS: readonly (KeyboardLayout & { label: string })[] = [
  { name: 'us', label: 'English (US)', klid: 0x0409 },
  { name: 'us(intl)', label: 'English (US, international, dead keys)', klid: 0x20409 },
  { name: 'gb', label: 'English (UK)', klid: 0x0809 },
  { name: 'de', label: 'German', klid: 0x0407 },
  { name: 'ch', label: 'German (Switzerland)', klid: 0x0807 },
  { name: 'ch(fr)', label: 'French (Switzerland)', klid: 0x100c },
  { name: 'fr', label: 'French', klid: 0x040c },
  { name: 'be', label: 'Belgian', klid: 0x080c },
  { name: 'es', label: 'Spanish', klid: 0x040a },
  { name: 'it', label: 'Italian', klid: 0x0410 },
  { name: 'pt', label: 'Portuguese', klid: 0x0816 },
  { name: 'br', label: 'Portuguese (Brazil)', klid: 0x0416 },
  { name: 'nl', label: 'Dutch', klid: 0x0413 },
  { name: 'se', label: 'Swedish', klid: 0x041d },
  { name: 'fi', label: 'Finnish', klid: 0x040b },
  { name: 'no', label: 'Norwegian', klid: 0x0414 },
  { name: 'dk', label: 'Danish', klid: 0x0406 },
  { name: 'pl', label: 'Polish', klid: 0x0415 },
  { name: 'cz', label: 'Czech', klid: 0x0405 },
  { name: 'hu', label: 'Hungarian', klid: 0x040e },
  { name: 'ru', label: 'Russian', klid: 0x0419 },
  { name: 'jp', label: 'Japanese', klid: 0x0411 },
];

/** Where the person's choice is kept; absent means "detect". */
const SETTING_KEY = 'oriel.keyboardLayout';

/** The layout named `name`, with its KLID when it is one we list. */
export function layoutNamed(name: string): KeyboardLayout {
  return { name, klid: LAYOUTS.find((layout) => layout.name === name)?.klid ?? 0 };
}

/**
 * The layout whose keys make these characters: `keys` maps
 * KeyboardEvent.code to the unshifted character, as getLayoutMap() does.
 * Null when the keys match none of the layouts we tell apart.
 */
export function layoutFromKeys(keys: ReadonlyMap<string, string>): string | null {
  const key = (code: string): string => keys.get(code)?.toLowerCase() ?? '';
  const [q, w, y, z, a, m] = ['KeyQ', 'KeyW', 'KeyY', 'KeyZ', 'KeyA', 'KeyM'].map(key);
  const semicolon = key('Semicolon');
  const quote = key('Quote');
  if (q === 'й') return 'ru';
  if (q === 'a' && w === 'z') {
    // AZERTY: Belgian has - where French has = (right of the ) key).
    return key('Equal') === '-' ? 'be' : 'fr';
  }
  if (y === 'z' && z === 'y') {
    // QWERTZ.
    if (key('Digit2') === 'ě') return 'cz';
    if (key('Digit0') === 'ö') return 'hu';
    if (key('Backquote') === '§') return semicolon === 'é' ? 'ch(fr)' : 'ch';
    if (semicolon === 'ö') return 'de';
    return null;
  }
  if (q !== 'q' || w !== 'w' || y !== 'y' || z !== 'z' || a !== 'a' || m !== 'm') return null;
  if (semicolon === 'ñ') return 'es';
  if (semicolon === 'ò') return 'it';
  if (semicolon === 'ç') return quote === 'º' ? 'pt' : 'br';
  if (semicolon === 'ö' && quote === 'ä') return 'se';
  if (semicolon === 'ø' && quote === 'æ') return 'no';
  if (semicolon === 'æ' && quote === 'ø') return 'dk';
  if (semicolon === ';' && key('Backslash') === '#') return 'gb';
  if (semicolon === ';' && quote === "'") return 'us';
  return null;
}

/** Languages (BCP 47) whose usual keyboard is not the one their language alone suggests. */
const REGIONS: ReadonlyMap<string, string> = new Map([
  ['en-gb', 'gb'], ['en-ie', 'gb'],
  ['de-ch', 'ch'], ['fr-ch', 'ch(fr)'], ['it-ch', 'ch'],
  ['fr-be', 'be'], ['nl-be', 'be'],
  ['pt-br', 'br'],
]);

/** Languages and the XKB layout most of their speakers type on. */
const LANGUAGES: ReadonlyMap<string, string> = new Map([
  ['en', 'us'], ['de', 'de'], ['fr', 'fr'], ['es', 'es'], ['it', 'it'], ['pt', 'pt'],
  ['nl', 'us'], ['sv', 'se'], ['fi', 'fi'], ['nb', 'no'], ['nn', 'no'], ['no', 'no'], ['da', 'dk'],
  ['pl', 'pl'], ['cs', 'cz'], ['hu', 'hu'], ['ru', 'ru'], ['ja', 'jp'],
]);

/** The layout a language tag suggests (`de-AT` is German), or null. */
export function layoutFromLanguage(language: string): string | null {
  const tag = language.toLowerCase();
  const [lang = '', region] = tag.split('-');
  return REGIONS.get(region === undefined ? lang : `${lang}-${region}`) ?? LANGUAGES.get(lang) ?? null;
}

/** getLayoutMap(), where the browser has it (Chromium on a secure page). */
interface NavigatorKeyboard {
  getLayoutMap(): Promise<ReadonlyMap<string, string>>;
}

const LAYOUT_MAP_PATIENCE_MS = 1000;

/** The layout of this computer's keyboard, as well as the browser can tell. */
export async function detectLayout(): Promise<string> {
  const keyboard = (navigator as Navigator & { keyboard?: NavigatorKeyboard }).keyboard;
  if (keyboard !== undefined) {
    try {
      // A session must not wait on a browser that never answers.
      const late = new Promise<null>((resolve) => setTimeout(() => resolve(null), LAYOUT_MAP_PATIENCE_MS));
      const keys = await Promise.race([keyboard.getLayoutMap(), late]);
      const fromKeys = keys === null ? null : layoutFromKeys(keys);
      if (fromKeys !== null) return fromKeys;
    } catch {
      // Refused (a frame, a background tab): the language is the next best guess.
    }
  }
  for (const language of navigator.languages ?? [navigator.language]) {
    const fromLanguage = layoutFromLanguage(language);
    if (fromLanguage !== null) return fromLanguage;
  }
  return 'us';
}

/** The layout the person picked in this browser, or null to detect it. */
export function savedLayout(): string | null {
  try {
    return localStorage.getItem(SETTING_KEY);
  } catch {
    return null;
  }
}

/** Keeps the person's pick; null goes back to detecting. */
export function saveLayout(name: string | null): void {
  try {
    if (name === null) localStorage.removeItem(SETTING_KEY);
    else localStorage.setItem(SETTING_KEY, name);
  } catch {
    // Storage off: the pick holds for this page only.
  }
}

/** The layout a new session asks for. */
export async function sessionLayout(): Promise<KeyboardLayout> {
  return layoutNamed(savedLayout() ?? (await detectLayout()));
}
