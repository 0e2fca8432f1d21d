// Security keys and passkeys (WebAuthn) in JSON. The server (webauthn-rs)
// sends a ceremony's options with their binary fields in base64url and reads
// the authenticator's answer the same way; the browser's API takes and gives
// ArrayBuffers. Pure: no navigator, no fetch (security-key.ts asks the browser).

/** Options or an answer not in the shape WebAuthn has. */
export class WebauthnFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebauthnFormatError';
  }
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** The bytes of base64url text, unpadded (as webauthn-rs writes it) or padded. */
export function bytesFromBase64url(text: string): ArrayBuffer {
  const unpadded = text.replace(/={1,2}$/, '');
  if (!BASE64URL.test(unpadded) || unpadded.length % 4 === 1) throw new WebauthnFormatError(`not base64url: ${JSON.stringify(text)}`);
  const binary = atob(unpadded.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

/** `bytes` in base64url without padding, as webauthn-rs reads it. */
export function base64url(bytes: ArrayBuffer | ArrayBufferView): string {
  const view = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let binary = '';
  // In pieces: String.fromCharCode takes its bytes as arguments, and those are bounded.
  for (let i = 0; i < view.length; i += 0x8000) binary += String.fromCharCode(...view.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * The server's registration options (`{publicKey: {…}}`, webauthn-rs's
 * CreationChallengeResponse) for `navigator.credentials.create`: the
 * challenge, the user's id and the excluded credentials' ids as bytes,
 * everything else as sent.
 */
export function creationOptions(json: unknown): PublicKeyCredentialCreationOptions {
  const options = record(record(json, 'the options')['publicKey'], 'publicKey');
  const rp = record(options['rp'], 'publicKey.rp');
  text(rp['name'], 'publicKey.rp.name');
  const user = record(options['user'], 'publicKey.user');
  text(user['name'], 'publicKey.user.name');
  text(user['displayName'], 'publicKey.user.displayName');
  list(options['pubKeyCredParams'], 'publicKey.pubKeyCredParams');
  const converted: Record<string, unknown> = {
    ...options,
    challenge: binary(options['challenge'], 'publicKey.challenge'),
    user: { ...user, id: binary(user['id'], 'publicKey.user.id') },
  };
  if (options['excludeCredentials'] !== undefined) {
    converted['excludeCredentials'] = descriptors(options['excludeCredentials'], 'publicKey.excludeCredentials');
  }
  return converted as unknown as PublicKeyCredentialCreationOptions;
}

/**
 * The server's login options (`{publicKey: {…}}`, webauthn-rs's
 * RequestChallengeResponse) for `navigator.credentials.get`: the challenge
 * and the allowed credentials' ids as bytes, everything else as sent. An
 * empty allowCredentials asks for a passkey the authenticator keeps.
 */
export function requestOptions(json: unknown): PublicKeyCredentialRequestOptions {
  const options = record(record(json, 'the options')['publicKey'], 'publicKey');
  const converted: Record<string, unknown> = { ...options, challenge: binary(options['challenge'], 'publicKey.challenge') };
  if (options['allowCredentials'] !== undefined) {
    converted['allowCredentials'] = descriptors(options['allowCredentials'], 'publicKey.allowCredentials');
  }
  return converted as unknown as PublicKeyCredentialRequestOptions;
}

/** What `navigator.credentials.create` gives, as far as the answer needs it. */
export interface CreatedCredential {
  id: string;
  rawId: ArrayBuffer;
  type: string;
  response: {
    attestationObject: ArrayBuffer;
    clientDataJSON: ArrayBuffer;
    /** Absent in older browsers. */
    getTransports?: () => string[];
  };
  getClientExtensionResults(): object;
}

/** What `navigator.credentials.get` gives, as far as the answer needs it. */
export interface AssertedCredential {
  id: string;
  rawId: ArrayBuffer;
  type: string;
  response: {
    authenticatorData: ArrayBuffer;
    clientDataJSON: ArrayBuffer;
    signature: ArrayBuffer;
    userHandle: ArrayBuffer | null;
  };
  getClientExtensionResults(): object;
}

/** A new credential as webauthn-rs reads it (RegisterPublicKeyCredential). */
export interface RegistrationAnswer {
  id: string;
  rawId: string;
  type: string;
  response: { attestationObject: string; clientDataJSON: string; transports?: string[] };
  extensions: Record<string, unknown>;
}

/** A signed challenge as webauthn-rs reads it (PublicKeyCredential). */
export interface AssertionAnswer {
  id: string;
  rawId: string;
  type: string;
  response: { authenticatorData: string; clientDataJSON: string; signature: string; userHandle: string | null };
  extensions: Record<string, unknown>;
}

export function registrationAnswer(credential: CreatedCredential): RegistrationAnswer {
  const { response } = credential;
  const transports = response.getTransports?.();
  return {
    id: credential.id,
    rawId: base64url(credential.rawId),
    type: credential.type,
    response: {
      attestationObject: base64url(response.attestationObject),
      clientDataJSON: base64url(response.clientDataJSON),
      ...(transports === undefined ? {} : { transports: [...transports] }),
    },
    extensions: extensionResults(credential.getClientExtensionResults()),
  };
}

export function assertionAnswer(credential: AssertedCredential): AssertionAnswer {
  const { response } = credential;
  return {
    id: credential.id,
    rawId: base64url(credential.rawId),
    type: credential.type,
    response: {
      authenticatorData: base64url(response.authenticatorData),
      clientDataJSON: base64url(response.clientDataJSON),
      signature: base64url(response.signature),
      userHandle: response.userHandle === null ? null : base64url(response.userHandle),
    },
    extensions: extensionResults(credential.getClientExtensionResults()),
  };
}

/** The words the page shows when the browser's request for a key ended in a DOMException of this name. */
export const KEY_DID_NOT_ANSWER = 'the security key did not answer';

export function whyKeyFailed(errorName: string, purpose: 'register' | 'sign'): string {
  switch (errorName) {
    // Cancelled in the browser's prompt, timed out, no key with a credential
    // here, or withdrawn by the page: a browser does not tell these apart, on
    // purpose (it would tell a site which keys a person has).
    case 'NotAllowedError':
    case 'AbortError':
    case 'TimeoutError':
      return KEY_DID_NOT_ANSWER;
    case 'InvalidStateError':
      return purpose === 'register' ? 'this security key or passkey is registered already' : KEY_DID_NOT_ANSWER;
    case 'SecurityError':
      return 'security keys do not work at this address: open Oriel at its host name (not an IP address), over HTTPS';
    case 'NotSupportedError':
      return 'this security key cannot make a key of a kind Oriel accepts';
    case 'ConstraintError':
      return 'this security key cannot check that it is you (it needs a PIN or a fingerprint set up)';
    default:
      return `${KEY_DID_NOT_ANSWER} (${errorName})`;
  }
}

/** Client extension results in JSON: bytes (hmac-secret outputs) as base64url. */
function extensionResults(results: object): Record<string, unknown> {
  const converted = jsonOf(results);
  return converted !== null && typeof converted === 'object' && !Array.isArray(converted) ? (converted as Record<string, unknown>) : {};
}

function jsonOf(value: unknown): unknown {
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return base64url(value);
  if (Array.isArray(value)) return value.map(jsonOf);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, jsonOf(inner)]));
  }
  return value;
}

function descriptors(value: unknown, what: string): Record<string, unknown>[] {
  return list(value, what).map((item, i) => {
    const descriptor = record(item, `${what}[${i}]`);
    text(descriptor['type'], `${what}[${i}].type`);
    return { ...descriptor, id: binary(descriptor['id'], `${what}[${i}].id`) };
  });
}

function binary(value: unknown, what: string): ArrayBuffer {
  return bytesFromBase64url(text(value, what));
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new WebauthnFormatError(`${what} is not an object`);
  return value as Record<string, unknown>;
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new WebauthnFormatError(`${what} is not a list`);
  return value;
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new WebauthnFormatError(`${what} is not a string`);
  return value;
}
