// Per-session MFA (src/session-mfa.ts): the proxy's challenge made into the
// browser's request for a key, and the one answer that goes back: the key's
// assertion, or the empty answer that cancels, with the reason to show.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'rolldown';

// Bundled together, so that the SecurityKeyError thrown here is the class the module knows.
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
const { output } = await build({
  input: { 'session-mfa': join(import.meta.dirname, '../src/session-mfa.ts'), 'security-key': join(import.meta.dirname, '../src/security-key.ts') },
  write: false,
  logLevel: 'silent',
});
for (const chunk of output) writeFileSync(join(dir, chunk.fileName), chunk.type === 'chunk' ? chunk.code : chunk.source);
const { answerChallenge } = await import(pathToFileURL(join(dir, 'session-mfa.js')));
const { SecurityKeyError } = await import(pathToFileURL(join(dir, 'security-key.js')));
rmSync(dir, { recursive: true });

const bytes = (buffer) => [...new Uint8Array(buffer)];

// As the proxy sends it: webauthn-rs's RequestChallengeResponse, as a key login begins.
const OPTIONS = {
  publicKey: {
    challenge: 'AQID',
    timeout: 60000,
    rpId: 'localhost',
    allowCredentials: [{ type: 'public-key', id: 'BAUG' }],
    userVerification: 'preferred',
  },
};
const CHALLENGE = { type: 'webauthn', json: JSON.stringify(OPTIONS) };
// As signWithKey gives it (webauthn.ts's assertionAnswer).
const ASSERTION = {
  id: 'BAUG',
  rawId: 'BAUG',
  type: 'public-key',
  response: { authenticatorData: 'AQ', clientDataJSON: 'e30', signature: 'Ag', userHandle: null },
  extensions: {},
};

test('the key answers: its assertion goes back as JSON', async () => {
  const asked = [];
  const outcome = await answerChallenge(CHALLENGE, async (publicKey) => {
    asked.push(publicKey);
    return ASSERTION;
  });
  assert.equal(asked.length, 1, 'the key is asked once');
  assert.deepEqual(bytes(asked[0].challenge), [1, 2, 3]);
  assert.deepEqual(bytes(asked[0].allowCredentials[0].id), [4, 5, 6]);
  assert.equal(asked[0].rpId, 'localhost');
  assert.equal(outcome.failure, null);
  assert.equal(outcome.answer.type, 'webauthn');
  assert.deepEqual(JSON.parse(outcome.answer.json), ASSERTION);
});

test('the key does not answer (Cancel, no key, no credential): the empty answer, and the reason', async () => {
  const outcome = await answerChallenge(CHALLENGE, async () => {
    throw new SecurityKeyError('the security key did not answer');
  });
  assert.deepEqual(outcome, { answer: { type: 'webauthn', json: '' }, failure: 'the security key did not answer' });
});

test('a challenge this page cannot use is cancelled without asking the key', async () => {
  const never = async () => assert.fail('the key must not be asked');
  const cases = [
    [{ type: 'totp', json: CHALLENGE.json }, /a check of a kind this page cannot answer \("totp"\)/],
    [{ type: 'webauthn', json: '' }, /^the server sent security key options this page cannot use: /],
    [{ type: 'webauthn', json: '{"publicKey":' }, /^the server sent security key options this page cannot use: /],
    [{ type: 'webauthn', json: '{"publicKey":{"rpId":"localhost"}}' }, /cannot use: publicKey\.challenge is not a string$/],
    [{ type: 'webauthn', json: '{"publicKey":{"challenge":"not base64!"}}' }, /cannot use: not base64url/],
  ];
  for (const [challenge, reason] of cases) {
    const outcome = await answerChallenge(challenge, never);
    assert.deepEqual(outcome.answer, { type: 'webauthn', json: '' }, JSON.stringify(challenge));
    assert.match(outcome.failure, reason);
  }
});

test('anything but the key failing is a bug, and rejects', async () => {
  await assert.rejects(
    answerChallenge(CHALLENGE, async () => {
      throw new RangeError('not the key');
    }),
    RangeError,
  );
});
