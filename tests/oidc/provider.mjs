// A real OpenID Connect provider on loopback for the SSO tests (npm `oidc-provider`, certified).
//
// Configured from the environment so the Python fixture can register its live server's redirect
// URI after the server started:
//   OIDC_HOST      interface and host name of the issuer (default 127.0.0.1; the portal under test
//                  runs on `localhost`, so the two sites never share cookies)
//   OIDC_PORT      port, 0 (default) picks a free one
//   OIDC_CLIENTS   JSON list of client metadata ({client_id, client_secret, redirect_uris, ...})
//   OIDC_ACCOUNTS  JSON object: login name -> claims ({email, name, groups, ...}); any other login
//                  signs in as <login>@example.com
// When it listens it prints one JSON line, {"issuer": "http://127.0.0.1:PORT"}, and it stops on
// SIGTERM or when its standard input closes (the test process died).
import http from 'node:http';
import process from 'node:process';

import Provider from 'oidc-provider';

const host = process.env.OIDC_HOST || '127.0.0.1';
const port = Number(process.env.OIDC_PORT || 0);
const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]');
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '{}');

function claimsFor(login) {
  const known = accounts[login] || {};
  const email = known.email || `${login}@example.com`;
  return {
    sub: known.sub || login,
    email,
    email_verified: true,
    name: known.name || login,
    given_name: known.given_name || login,
    family_name: known.family_name || 'Tester',
    groups: known.groups || [],
  };
}

const configuration = {
  clients: clients.map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
    ...client,
  })),
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  async findAccount(ctx, id) {
    return { accountId: id, async claims() { return claimsFor(id); } };
  },
  // PKCE for every client, confidential ones too: the portal must send a code challenge.
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['elevate-test-oidc-cookie-key'] },
  ttl: { Session: 600, Interaction: 600, Grant: 600, AccessToken: 600, AuthorizationCode: 60, IdToken: 600 },
};

const server = http.createServer();
server.listen(port, host, () => {
  const issuer = `http://${host}:${server.address().port}`;
  const provider = new Provider(issuer, configuration);
  provider.on('server_error', (ctx, error) => process.stderr.write(`server_error: ${error.stack}\n`));
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
