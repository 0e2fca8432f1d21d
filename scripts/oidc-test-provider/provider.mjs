// A real OpenID Connect provider (the `oidc-provider` package) for Oriel's
// tests, on 127.0.0.1 over plain HTTP. Clients and accounts come from the
// environment (see README.md); once it listens it prints one JSON line on
// stdout, {"issuer":"http://127.0.0.1:PORT"}, and nothing else there.
//
// Every authorization request starts without the provider's own session
// (its cookie is dropped on the way in, and expired in the browser), so each
// one is a fresh login: the account logged in last never answers for the
// next one, and a test can log in as someone else with the same browser or
// cookie jar.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

// oidc-provider prints its notices with console.info; stdout is the JSON line's alone.
console.info = console.error;
console.log = console.error;

function die(message) {
  console.error(`oidc-test-provider: ${message}`);
  process.exit(2);
}

/** `name`'s JSON value, `fallback` when unset; a parse error names the variable. */
function jsonEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') {
    if (fallback === undefined) die(`${name} is not set`);
    return fallback;
  }
  try {
    return JSON.parse(raw);
  } catch (error) {
    return die(`${name} is not JSON: ${error.message}`);
  }
}

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function readClients() {
  const clients = jsonEnv('OIDC_CLIENTS');
  if (!Array.isArray(clients) || clients.length === 0) die('OIDC_CLIENTS must be a non-empty JSON array');
  return clients.map((client, i) => {
    const where = `OIDC_CLIENTS[${i}]`;
    if (!isObject(client)) die(`${where} must be an object`);
    const { client_id: id, client_secret: secret, redirect_uris: redirects } = client;
    if (typeof id !== 'string' || id === '') die(`${where}.client_id must be a non-empty string`);
    if (typeof secret !== 'string' || secret === '') die(`${where}.client_secret must be a non-empty string`);
    if (!Array.isArray(redirects) || redirects.length === 0 || !redirects.every((uri) => typeof uri === 'string')) {
      die(`${where}.redirect_uris must be a non-empty array of URLs`);
    }
    return {
      client_id: id,
      client_secret: secret,
      redirect_uris: redirects,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    };
  });
}

function readAccounts() {
  const accounts = jsonEnv('OIDC_ACCOUNTS');
  if (!isObject(accounts)) die('OIDC_ACCOUNTS must be a JSON object of account id → claims');
  for (const [id, claims] of Object.entries(accounts)) {
    if (id === '') die('OIDC_ACCOUNTS has an empty account id');
    if (!isObject(claims)) die(`OIDC_ACCOUNTS.${id} must be an object of claims`);
  }
  return new Map(Object.entries(accounts));
}

function readWholeNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) die(`${name} must be a whole number, not ${JSON.stringify(raw)}`);
  return value;
}

const clients = readClients();
const accounts = readAccounts();
const port = readWholeNumber('OIDC_PORT', 0);
const codeTtl = readWholeNumber('OIDC_CODE_TTL', 60);
if (codeTtl === 0) die('OIDC_CODE_TTL must be at least 1 second');
const autoLogin = process.env.OIDC_AUTO_LOGIN === '1';

/** The path that finishes an interaction at once, in OIDC_AUTO_LOGIN mode. */
const AUTO_INTERACTION = '/interaction/';

// The issuer names the port, so the socket is bound before the provider exists.
const server = createServer();
await new Promise((listening, failed) => {
  server.once('error', failed);
  server.listen(port, '127.0.0.1', listening);
}).catch((error) => die(`cannot listen on 127.0.0.1:${port}: ${error.message}`));
const issuer = `http://127.0.0.1:${server.address().port}`;

/** A signing key of this run's own: nothing signed by an earlier run verifies. */
function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig', kid: randomBytes(8).toString('hex') };
}

const TEN_MINUTES = 600;

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingKey()] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  responseTypes: ['code'],
  pkce: { required: () => true },
  // The scopes' claims go into the ID token too, where relying parties like Oriel read them.
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['preferred_username', 'name'],
    groups: ['groups', 'linux_logins'],
  },
  async findAccount(ctx, id) {
    const claims = accounts.get(id);
    if (claims === undefined) return undefined;
    return { accountId: id, claims: async () => ({ ...claims, sub: id }) };
  },
  ttl: {
    AuthorizationCode: codeTtl,
    AccessToken: TEN_MINUTES,
    IdToken: TEN_MINUTES,
    Interaction: TEN_MINUTES,
    Session: TEN_MINUTES,
    Grant: TEN_MINUTES,
  },
  features: { devInteractions: { enabled: !autoLogin } },
  ...(autoLogin
    ? {
        interactions: { url: (ctx, interaction) => `${AUTO_INTERACTION}${interaction.uid}` },
        // Consent without asking: everything the client asked for.
        async loadExistingGrant(ctx) {
          const { oidc } = ctx;
          const id = oidc.result?.consent?.grantId ?? oidc.session.grantIdFor(oidc.client.clientId);
          const existing = id === undefined ? undefined : await oidc.provider.Grant.find(id);
          if (existing !== undefined) return existing;
          const grant = new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
          grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '));
          if (oidc.requestParamClaims.size > 0) grant.addOIDCClaims([...oidc.requestParamClaims]);
          await grant.save();
          return grant;
        },
      }
    : {}),
});

// What went wrong, where a failing test's output shows it.
for (const event of ['authorization.error', 'grant.error', 'userinfo.error', 'end_session.error', 'server_error']) {
  provider.on(event, (ctx, error) => {
    const detail = error.error_detail ? ` (${error.error_detail})` : '';
    const description = error.error_description ?? error.message;
    console.error(`oidc-test-provider: ${event} ${error.error ?? ''}: ${description}${detail}`);
    if (event === 'server_error' && error.stack) console.error(error.stack);
  });
}

/**
 * OIDC_AUTO_LOGIN: the account `login_hint` names is logged in at once, and
 * an unknown or missing one is refused with access_denied.
 */
async function finishInteraction(req, res) {
  const { prompt, params } = await provider.interactionDetails(req, res);
  if (prompt.name !== 'login') {
    // Consent is granted by loadExistingGrant, so only a login can be asked for.
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`unexpected prompt ${prompt.name}\n`);
    return;
  }
  const hint = params.login_hint;
  if (typeof hint !== 'string' || !accounts.has(hint)) {
    const error_description = hint === undefined ? 'no login_hint names the account to log in' : `no account ${JSON.stringify(hint)}`;
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description }, { mergeWithLastSubmission: false });
    return;
  }
  await provider.interactionFinished(req, res, { login: { accountId: hint } }, { mergeWithLastSubmission: false });
}

const SESSION_COOKIE = '_session';

/**
 * Forgets the provider's session for this authorization request: without
 * its cookie, and the browser told to drop it, the login that follows is a
 * new session's (oidc-provider would otherwise keep the last account logged
 * in, or ask to log it out when another one logs in).
 */
function forgetSession(req, res) {
  const pairs = (req.headers.cookie ?? '').split(';');
  const kept = pairs.filter((pair) => !pair.trim().startsWith(SESSION_COOKIE));
  if (kept.length === pairs.length) return;
  req.headers.cookie = kept.join(';');
  const expired = 'path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; samesite=lax; httponly';
  res.setHeader('Set-Cookie', [`${SESSION_COOKIE}=; ${expired}`, `${SESSION_COOKIE}.sig=; ${expired}`]);
}

const handle = provider.callback();
server.on('request', (req, res) => {
  const path = new URL(req.url, issuer).pathname;
  if (path === '/auth') forgetSession(req, res);
  if (autoLogin && path.startsWith(AUTO_INTERACTION)) {
    finishInteraction(req, res).catch((error) => {
      console.error(`oidc-test-provider: interaction ${path}: ${error.message}`);
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`${error.message}\n`);
    });
    return;
  }
  handle(req, res);
});

// Everything lives in memory: there is nothing to save on the way out.
process.once('SIGTERM', () => process.exit(0));
process.once('SIGINT', () => process.exit(0));

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
