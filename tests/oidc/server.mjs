// A local OpenID Connect provider shaped like Pro Santé Connect, for Hygie's tests only.
//
// Real `oidc-provider` (certified OP library): discovery, authorization code + PKCE, signed ID
// tokens (RS256), userinfo, end-session. Shaped like PSC (docs/operations.md, REFERENCES.md):
// issuer …/auth/realms/esante-wallet, discovery document named
// `.well-known/wallet-openid-configuration`, Keycloak's endpoint paths
// (protocol/openid-connect/auth|token|userinfo|certs|logout), scope `scope_all`, `acr` eidas1,
// PSC's claims (SubjectNameID, SubjectRefPro.exercices[], Palier_Authentification...).
//
// Configuration (environment): PSC_TEST_CLIENT_ID, PSC_TEST_CLIENT_SECRET,
// PSC_TEST_REDIRECT_URIS and PSC_TEST_POST_LOGOUT_URIS (comma-separated). Prints
// `READY <issuer>` on stdout once it listens on 127.0.0.1 (a free port).
//
// Test control, so that the tests can make this provider misbehave the way a compromised or
// misconfigured one would (the only part that is not the library's own behaviour):
// POST /__test/fault?kind=acr|audience|expired|signature|replay|none sets what happens to the
// next token response: `acr` logs the user in at a lower level (eidas0) through the library
// itself; the others rewrite the ID token of the library's token response: another audience or
// an expiry in the past (re-signed with the provider's own key), a broken signature, or the ID
// token of the previous login (a replay: valid signature, stale nonce).
import http from 'node:http';
import { URL } from 'node:url';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const PREFIX = '/auth/realms/esante-wallet';
const clientId = process.env.PSC_TEST_CLIENT_ID || 'hygie-test';
const clientSecret = process.env.PSC_TEST_CLIENT_SECRET || 'test-secret';
const redirectUris = (process.env.PSC_TEST_REDIRECT_URIS || '').split(',').filter(Boolean);
const postLogoutUris = (process.env.PSC_TEST_POST_LOGOUT_URIS || '').split(',').filter(Boolean);

// Test identities, like the sandbox's (national ids 8 + RPPS; 899700… are test numbers).
const IDENTITIES = {
  '899700000011': { given: 'Alice', family: 'MARTIN', profession: '10', civ: 'DR' },
  '899700000022': { given: 'Rémi', family: 'DURAND', profession: '10', civ: 'DR' },
  '899700000033': { given: 'Inès', family: 'INCONNUE', profession: '60', civ: 'MME' },
};

function userinfo(id) {
  const who = IDENTITIES[id];
  return {
    sub: `f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:${id}`,
    preferred_username: id,
    SubjectNameID: id,
    given_name: who.given,
    family_name: who.family,
    SubjectOrganization: 'CABINET DE TEST',
    SubjectRole: [`${who.profession}^1.2.250.1.213.1.1.5.5`],
    Palier_Authentification: 'APPPRIP3^1.2.250.1.213.1.5.1.1.1',
    SubjectRefPro: {
      codeCivilite: who.civ,
      exercices: [{
        codeProfession: who.profession,
        codeCategorieProfessionnelle: 'C',
        codeCiviliteDexercice: who.civ,
        nomDexercice: who.family,
        prenomDexercice: who.given,
        codeTypeSavoirFaire: '',
        codeSavoirFaire: '',
        activities: [{ codeModeExercice: 'L', codeSecteurDactivite: 'SA07', raisonSocialeSite: 'CABINET DE TEST' }],
      }],
    },
  };
}

const CLAIMS = [
  'sub', 'preferred_username', 'SubjectNameID', 'given_name', 'family_name', 'SubjectOrganization',
  'SubjectRole', 'Palier_Authentification', 'SubjectRefPro',
];

let fault = 'none';
let previousIdToken = null;

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${server.address().port}`;
const issuer = `${origin}${PREFIX}`;

const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
const privateJwk = { ...(await jose.exportJWK(privateKey)), kid: 'psc-test-1', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    post_logout_redirect_uris: postLogoutUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [privateJwk] },
  acrValues: ['eidas1', 'eidas0'],
  scopes: ['openid', 'scope_all'],
  claims: { scope_all: CLAIMS, acr: null },
  conformIdTokenClaims: false, // PSC puts its claims in the ID token too
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = `<!doctype html><html lang="fr"><body>${form}
<p>Déconnexion de Pro Santé Connect (test)…</p><button form="op.logoutForm" name="logout" value="yes">Se déconnecter</button>
<script>document.getElementById('op.logoutForm').insertAdjacentHTML('beforeend','<input type=hidden name=logout value=yes>');document.getElementById('op.logoutForm').submit()</script></body></html>`;
      },
    },
  },
  routes: {
    authorization: '/protocol/openid-connect/auth',
    token: '/protocol/openid-connect/token',
    userinfo: '/protocol/openid-connect/userinfo',
    jwks: '/protocol/openid-connect/certs',
    end_session: '/protocol/openid-connect/logout',
  },
  ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
  findAccount: async (_ctx, id) => (IDENTITIES[id] ? { accountId: id, claims: async () => userinfo(id) } : undefined),
  interactions: { url: (_ctx, interaction) => `${PREFIX}/interaction/${interaction.uid}` },
  cookies: { keys: ['psc-test-cookie-key'] },
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
  },
});
provider.proxy = false;

function page(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><html lang="fr"><head><title>Pro Santé Connect (test)</title></head><body>${html}</body></html>`);
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

// The e-CPS step: the tester picks a test identity (PSC asks the e-CPS app to confirm).
async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return page(res, 400, 'interaction inconnue');
  if (req.method === 'GET') {
    return page(res, 200, `<h1>Pro Santé Connect — environnement de test</h1>
<form method="post" action="${PREFIX}/interaction/${uid}">
<label for="identity">Identifiant national (e-CPS de test)</label>
<input id="identity" name="identity" value="">
<button type="submit">Valider sur mon e-CPS</button></form>`);
  }
  const form = await readForm(req);
  const id = form.get('identity') || '';
  if (!IDENTITIES[id]) return page(res, 200, 'identité de test inconnue');
  const grant = new provider.Grant({ accountId: id, clientId: details.params.client_id });
  grant.addOIDCScope('openid scope_all');
  grant.addOIDCClaims(CLAIMS);
  const grantId = await grant.save();
  const acr = fault === 'acr' ? 'eidas0' : 'eidas1';
  if (fault === 'acr') fault = 'none';
  return provider.interactionFinished(req, res, { login: { accountId: id, acr, amr: ['mfa'] }, consent: { grantId } }, { mergeWithLastSubmission: false });
}

async function rewriteIdToken(idToken, kind) {
  const claims = jose.decodeJwt(idToken);
  if (kind === 'signature') {
    const [h, p, s] = idToken.split('.');
    const flipped = (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    return `${h}.${p}.${flipped}`;
  }
  if (kind === 'audience') claims.aud = 'another-client';
  if (kind === 'expired') {
    claims.iat -= 7200;
    claims.exp = Math.floor(Date.now() / 1000) - 3600;
  }
  return new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'psc-test-1', typ: 'JWT' }).sign(privateKey);
}

// The token response passes through here: remembered (for `replay`) and altered if asked.
function tokenEndpoint(req, res, callback) {
  const chunks = [];
  const { write, end, setHeader } = res;
  res.write = (chunk) => { chunks.push(Buffer.from(chunk)); return true; };
  res.setHeader = function (name, value) {
    if (String(name).toLowerCase() === 'content-length') return this;
    return setHeader.call(this, name, value);
  };
  res.end = async (chunk) => {
    if (chunk) chunks.push(Buffer.from(chunk));
    let body = Buffer.concat(chunks).toString('utf8');
    try {
      const data = JSON.parse(body);
      if (data.id_token) {
        const issued = data.id_token;
        if (fault === 'replay' && previousIdToken) data.id_token = previousIdToken;
        else if (['audience', 'expired', 'signature'].includes(fault)) data.id_token = await rewriteIdToken(issued, fault);
        if (fault !== 'none') fault = 'none';
        previousIdToken = issued;
        body = JSON.stringify(data);
      }
    } catch { /* not JSON: an error answer, passed as is */ }
    res.write = write; res.end = end;
    res.setHeader('content-length', Buffer.byteLength(body));
    res.end(body);
  };
  callback(req, res);
}

const callback = provider.callback();
server.on('request', async (req, res) => {
  try {
    const url = new URL(req.url, origin);
    if (url.pathname === '/__test/fault' && req.method === 'POST') {
      fault = url.searchParams.get('kind') || 'none';
      res.writeHead(204); return res.end();
    }
    if (!url.pathname.startsWith(PREFIX)) { res.writeHead(404); return res.end(); }
    const m = url.pathname.match(/^\/auth\/realms\/esante-wallet\/interaction\/([^/]+)$/);
    if (m) return await interaction(req, res, m[1]);
    // PSC's discovery document has a non-standard name.
    if (url.pathname === `${PREFIX}/.well-known/wallet-openid-configuration`) {
      req.url = `${PREFIX}/.well-known/openid-configuration${url.search}`;
    } else if (url.pathname === `${PREFIX}/.well-known/openid-configuration`) {
      res.writeHead(404); return res.end();
    }
    req.originalUrl = req.url;
    req.url = req.url.slice(PREFIX.length) || '/';
    if (url.pathname === `${PREFIX}/protocol/openid-connect/token`) return tokenEndpoint(req, res, callback);
    return callback(req, res);
  } catch (err) {
    res.writeHead(500); res.end(String(err));
  }
});

process.stdout.write(`READY ${issuer}\n`);
