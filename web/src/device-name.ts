// The name a person gives a security key or passkey, so the Account page can
// tell their devices apart. The server's rule is checked here too, so the
// person hears it before touching the key.

/** The server's limit, in characters. */
export const MAX_DEVICE_NAME = 64;

/** The name as it will be kept (trimmed), or why it cannot be one. */
export function deviceName(typed: string): { name: string } | { error: string } {
  const name = typed.trim();
  if (name === '') return { error: 'give the security key a name' };
  if ([...name].length > MAX_DEVICE_NAME) return { error: `a security key's name has at most ${MAX_DEVICE_NAME} characters` };
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return { error: "a security key's name cannot hold control characters" };
  return { name };
}

/** "Security key", or "Security key 2" and on when the person has one of that name. */
export function suggestedName(existing: readonly string[]): string {
  const taken = new Set(existing.map((name) => name.trim().toLowerCase()));
  const base = 'Security key';
  if (!taken.has(base.toLowerCase())) return base;
  for (let n = 2; ; n++) {
    if (!taken.has(`${base} ${n}`.toLowerCase())) return `${base} ${n}`;
  }
}
