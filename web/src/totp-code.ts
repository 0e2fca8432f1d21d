// The 6-digit authenticator code as typed: apps show it as "123 456".

/** The code's digits, or null when it is not six digits. */
export function totpCode(typed: string): string | null {
  const digits = typed.replace(/\s/g, '');
  return /^\d{6}$/.test(digits) ? digits : null;
}
