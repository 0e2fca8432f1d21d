// Security keys and passkeys in JSON (src/webauthn.ts): base64url both ways,
// the server's options made into what navigator.credentials wants, the
// browser's answers made into what the server reads, and what a failed
// request says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'rolldown/experimental';

const source = join(import.meta.dirname, '../src/webauthn.ts');
const { code, errors } = transformSync(source, readFileSync(source, 'utf8'), { lang: 'ts' });
assert.deepEqual(errors, []);
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
writeFileSync(join(dir, 'webauthn.mjs'), code);
const webauthn = await import(pathToFileURL(join(dir, 'webauthn.mjs')));
rmSync(dir, { recursive: true });
const { base64url, bytesFromBase64url, creationOptions, requestOptions, registrationAnswer, assertionAnswer, whyKeyFailed, WebauthnFormatError, KEY_DID_NOT_ANSWER } = webauthn;

const bytes = (buffer) => [...new Uint8Array(buffer)];
const buffer = (...values) => new Uint8Array(values).buffer;

test('base64url: known vectors, without padding, with - and _', () => {
  const vectors = [
    [[], ''],
    [[0x66], 'Zg'],
    [[0x66, 0x6f], 'Zm8'],
    [[0x66, 0x6f, 0x6f], 'Zm9v'],
    [[0xfb, 0xff], '-_8'],
    [[0xff, 0xfe, 0xfd, 0xfc], '__79_A'],
  ];
  for (const [values, text] of vectors) {
    assert.equal(base64url(new Uint8Array(values)), text, `${values} encodes`);
    assert.deepEqual(bytes(bytesFromBase64url(text)), values, `${text} decodes`);
  }
  // Padded, as some servers write it, decodes the same.
  assert.deepEqual(bytes(bytesFromBase64url('Zg==')), [0x66]);
  assert.deepEqual(bytes(bytesFromBase64url('Zm8=')), [0x66, 0x6f]);
});

test('base64url: every byte value and every length round-trips', () => {
  const all = new Uint8Array(256).map((_, i) => i);
  assert.deepEqual(bytes(bytesFromBase64url(base64url(all))), [...all]);
  for (let length = 0; length <= 70; length++) {
    const piece = new Uint8Array(length).map((_, i) => (i * 37 + length) & 0xff);
    const text = base64url(piece);
    assert.match(text, /^[A-Za-z0-9_-]*$/, 'url-safe, unpadded');
    assert.deepEqual(bytes(bytesFromBase64url(text)), [...piece], `length ${length}`);
  }
  // A large buffer (a long attestation) does not overflow the call stack.
  const large = new Uint8Array(300_000).map((_, i) => i & 0xff);
  assert.deepEqual(bytes(bytesFromBase64url(base64url(large))), [...large]);
});

test('base64url: a view encodes only its own bytes; what decodes is an ArrayBuffer', () => {
  const whole = new Uint8Array([1, 2, 3, 4, 5, 6]);
  assert.equal(base64url(whole.subarray(2, 4)), base64url(new Uint8Array([3, 4])));
  assert.equal(base64url(new DataView(whole.buffer, 1, 2)), base64url(new Uint8Array([2, 3])));
  assert.ok(bytesFromBase64url('AQID') instanceof ArrayBuffer);
});

test('base64url: text that is not base64url is refused', () => {
  for (const text of ['A', 'AQID+', 'AQ/D', 'AQ ID', 'Zg===', '=Zg', 'Zm9v!']) {
    assert.throws(() => bytesFromBase64url(text), WebauthnFormatError, JSON.stringify(text));
  }
});

// As webauthn-rs 0.6 sends them (Oriel adds residentKey where passwordless logins are allowed).
const REGISTRATION = {
  publicKey: {
    rp: { name: 'Oriel', id: 'localhost' },
    user: { id: 'AAECAwQFBgcICQoLDA0ODw', name: 'admin', displayName: 'admin' },
    challenge: 'TYKMRzyN66C10qNbVRt3npCCRDDm6FKdrUpLg6vkAPw',
    pubKeyCredParams: [
      { type: 'public-key', alg: -7 },
      { type: 'public-key', alg: -257 },
    ],
    timeout: 300000,
    excludeCredentials: [{ type: 'public-key', id: '-_8' }],
    authenticatorSelection: { requireResidentKey: false, userVerification: 'required', residentKey: 'preferred' },
    attestation: 'none',
    extensions: { credentialProtectionPolicy: 'userVerificationRequired', enforceCredentialProtectionPolicy: false, uvm: true, credProps: true },
  },
};

test('creation options: the binary fields become bytes, the rest is as sent', () => {
  const options = creationOptions(structuredClone(REGISTRATION));
  assert.ok(options.challenge instanceof ArrayBuffer);
  assert.equal(base64url(options.challenge), REGISTRATION.publicKey.challenge);
  assert.ok(options.user.id instanceof ArrayBuffer);
  assert.deepEqual(bytes(options.user.id), [...Array(16).keys()]);
  assert.equal(options.user.name, 'admin');
  assert.equal(options.user.displayName, 'admin');
  assert.deepEqual(options.excludeCredentials.length, 1);
  assert.equal(options.excludeCredentials[0].type, 'public-key');
  assert.deepEqual(bytes(options.excludeCredentials[0].id), [0xfb, 0xff]);
  for (const kept of ['rp', 'pubKeyCredParams', 'timeout', 'authenticatorSelection', 'attestation', 'extensions']) {
    assert.deepEqual(options[kept], REGISTRATION.publicKey[kept], kept);
  }
});

test('creation options without excludeCredentials have none', () => {
  const json = structuredClone(REGISTRATION);
  delete json.publicKey.excludeCredentials;
  assert.equal('excludeCredentials' in creationOptions(json), false);
});

test('creation options missing what create() needs are refused, naming the field', () => {
  const broken = [
    [null, /the options/],
    [{}, /publicKey/],
    [{ publicKey: { ...REGISTRATION.publicKey, challenge: 42 } }, /publicKey\.challenge/],
    [{ publicKey: { ...REGISTRATION.publicKey, challenge: 'not base64!' } }, /not base64url/],
    [{ publicKey: { ...REGISTRATION.publicKey, user: { name: 'a', displayName: 'a' } } }, /publicKey\.user\.id/],
    [{ publicKey: { ...REGISTRATION.publicKey, rp: undefined } }, /publicKey\.rp/],
    [{ publicKey: { ...REGISTRATION.publicKey, pubKeyCredParams: {} } }, /pubKeyCredParams/],
    [{ publicKey: { ...REGISTRATION.publicKey, excludeCredentials: [{ type: 'public-key' }] } }, /excludeCredentials\[0\]\.id/],
  ];
  for (const [json, message] of broken) {
    assert.throws(() => creationOptions(json), (error) => error instanceof WebauthnFormatError && message.test(error.message), JSON.stringify(json)?.slice(0, 80));
  }
});

const LOGIN = {
  publicKey: {
    challenge: 'AQID',
    timeout: 300000,
    rpId: 'localhost',
    allowCredentials: [
      { type: 'public-key', id: 'BAUG' },
      { type: 'public-key', id: 'BwgJ', transports: ['usb'] },
    ],
    userVerification: 'required',
    extensions: { uvm: true },
  },
};

test('request options: challenge and allowed credentials as bytes, the rest as sent', () => {
  const options = requestOptions(structuredClone(LOGIN));
  assert.deepEqual(bytes(options.challenge), [1, 2, 3]);
  assert.deepEqual(options.allowCredentials.map((credential) => bytes(credential.id)), [[4, 5, 6], [7, 8, 9]]);
  assert.deepEqual(options.allowCredentials[1].transports, ['usb']);
  assert.equal(options.rpId, 'localhost');
  assert.equal(options.userVerification, 'required');
  assert.equal(options.timeout, 300000);
  assert.deepEqual(options.extensions, { uvm: true });
});

test('passwordless request options: an empty allowCredentials stays empty; mediation is not passed on', () => {
  const options = requestOptions({ publicKey: { ...LOGIN.publicKey, allowCredentials: [] }, mediation: 'conditional' });
  assert.deepEqual(options.allowCredentials, []);
  assert.equal('mediation' in options, false);
  assert.throws(() => requestOptions({ publicKey: { rpId: 'localhost' } }), /publicKey\.challenge/);
});

test('a registration answer: the bytes in base64url, transports and extension results kept', () => {
  const answer = registrationAnswer({
    id: '-_8',
    rawId: buffer(0xfb, 0xff),
    type: 'public-key',
    response: { attestationObject: buffer(1, 2, 3), clientDataJSON: buffer(0x7b, 0x7d), getTransports: () => ['internal', 'hybrid'] },
    getClientExtensionResults: () => ({ credProps: { rk: true } }),
  });
  assert.deepEqual(answer, {
    id: '-_8',
    rawId: '-_8',
    type: 'public-key',
    response: { attestationObject: 'AQID', clientDataJSON: 'e30', transports: ['internal', 'hybrid'] },
    extensions: { credProps: { rk: true } },
  });
  assert.deepEqual(JSON.parse(JSON.stringify(answer)), answer, 'plain JSON');
});

test('a registration answer from a browser without getTransports has none', () => {
  const answer = registrationAnswer({
    id: 'AQ',
    rawId: buffer(1),
    type: 'public-key',
    response: { attestationObject: buffer(2), clientDataJSON: buffer(3) },
    getClientExtensionResults: () => ({}),
  });
  assert.deepEqual(answer.response, { attestationObject: 'Ag', clientDataJSON: 'Aw' });
  assert.deepEqual(answer.extensions, {});
});

test('a login answer: every binary field in base64url, a missing user handle null', () => {
  const credential = {
    id: 'BAUG',
    rawId: buffer(4, 5, 6),
    type: 'public-key',
    response: { authenticatorData: buffer(1), clientDataJSON: buffer(2), signature: buffer(3, 4), userHandle: buffer(9, 9) },
    getClientExtensionResults: () => ({ hmacGetSecret: { output1: new Uint8Array([1, 2, 3]) } }),
  };
  assert.deepEqual(assertionAnswer(credential), {
    id: 'BAUG',
    rawId: 'BAUG',
    type: 'public-key',
    response: { authenticatorData: 'AQ', clientDataJSON: 'Ag', signature: 'AwQ', userHandle: 'CQk' },
    extensions: { hmacGetSecret: { output1: 'AQID' } },
  });
  const withoutHandle = assertionAnswer({ ...credential, response: { ...credential.response, userHandle: null } });
  assert.equal(withoutHandle.response.userHandle, null);
});

test("what a failed request for a key says", () => {
  for (const name of ['NotAllowedError', 'AbortError', 'TimeoutError']) {
    assert.equal(whyKeyFailed(name, 'sign'), KEY_DID_NOT_ANSWER, name);
    assert.equal(whyKeyFailed(name, 'register'), KEY_DID_NOT_ANSWER, name);
  }
  assert.equal(KEY_DID_NOT_ANSWER, 'the security key did not answer');
  assert.match(whyKeyFailed('InvalidStateError', 'register'), /registered already/);
  assert.equal(whyKeyFailed('InvalidStateError', 'sign'), KEY_DID_NOT_ANSWER);
  assert.match(whyKeyFailed('SecurityError', 'sign'), /host name/);
  assert.match(whyKeyFailed('UnknownError', 'sign'), /did not answer \(UnknownError\)/);
});
