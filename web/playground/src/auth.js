// Sign-in for the playground: the development persona picker (embedded
// development issuer) or OpenID Connect authorization code + PKCE against
// an external issuer. A session keeps the access token in memory and in
// sessionStorage (per tab, gone with the tab) and renews it before it
// expires.

const storageKey = 'dezky-playground-session';
const pkceKey = 'dezky-playground-pkce';
// Renew this long before expiry.
const renewMarginMs = 60 * 1000;

/**
 * Session holds the current sign-in and notifies listeners on change.
 * state: { token, expiresAt (ms), email, label, kind: 'dev'|'oidc', as?, refreshToken? } or null.
 */
export class Session {
  constructor(config) {
    this.config = config;
    this.listeners = new Set();
    this.timer = null;
    this.error = '';
    this.state = null;
    try {
      const saved = JSON.parse(sessionStorage.getItem(storageKey) || 'null');
      if (saved && saved.token && saved.expiresAt > Date.now()) {
        this.state = saved;
      }
    } catch {
      this.state = null;
    }
    this.schedule();
  }

  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  token() {
    return this.state ? this.state.token : '';
  }

  set(state, error = '') {
    this.state = state;
    this.error = error;
    if (state) {
      sessionStorage.setItem(storageKey, JSON.stringify(state));
    } else {
      sessionStorage.removeItem(storageKey);
    }
    this.schedule();
    for (const fn of this.listeners) fn();
  }

  fail(err) {
    this.error = String(err && err.message ? err.message : err);
    for (const fn of this.listeners) fn();
  }

  signOut() {
    this.set(null);
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = null;
    if (!this.state) return;
    const delay = Math.max(this.state.expiresAt - renewMarginMs - Date.now(), 0);
    this.timer = setTimeout(() => {
      this.renew().catch((err) => this.fail(err));
    }, delay);
  }

  async renew() {
    const s = this.state;
    if (!s) return;
    if (s.kind === 'dev') {
      await this.signInAs(s.as);
    } else if (s.kind === 'oidc' && s.refreshToken) {
      const meta = await discover(this.config.oidc.issuer);
      const body = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: s.refreshToken,
        client_id: this.config.oidc.clientId,
      });
      const tok = await tokenRequest(meta.token_endpoint, body);
      this.set(oidcState(tok, s));
    } else {
      this.set(null, 'The session expired: sign in again.');
    }
  }

  // Development issuer: the personas the server offers.
  async personas() {
    const res = await fetch(this.config.devSignIn, { headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(`listing demo users failed: HTTP ${res.status}`);
    const body = await res.json();
    return body.personas || [];
  }

  // Development issuer: mint a token for the persona `as`.
  async signInAs(as) {
    const res = await fetch(this.config.devSignIn, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ as }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || `sign-in failed: HTTP ${res.status}`);
    this.set({
      kind: 'dev',
      as,
      token: body.accessToken,
      expiresAt: Date.now() + body.expiresIn * 1000,
      email: body.email,
      label: body.label,
    });
  }

  // OIDC: redirect to the issuer's authorization endpoint.
  async beginLogin() {
    const { issuer, clientId, scopes } = this.config.oidc;
    const meta = await discover(issuer);
    const verifier = randomString(64);
    const state = randomString(32);
    const challenge = base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
    sessionStorage.setItem(pkceKey, JSON.stringify({ verifier, state }));
    const url = new URL(meta.authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectURI(),
      scope: scopes,
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();
    window.location.assign(url.toString());
  }

  // OIDC: finish a login when the issuer redirected back with a code.
  async completeLogin() {
    const params = new URLSearchParams(window.location.search);
    if (!params.has('code') && !params.has('error')) return;
    const pending = JSON.parse(sessionStorage.getItem(pkceKey) || 'null');
    sessionStorage.removeItem(pkceKey);
    window.history.replaceState(null, '', window.location.pathname);
    if (params.has('error')) {
      throw new Error(`sign-in refused: ${params.get('error')} ${params.get('error_description') || ''}`.trim());
    }
    if (!pending || pending.state !== params.get('state')) {
      throw new Error('sign-in response does not match the request (state): try again');
    }
    const meta = await discover(this.config.oidc.issuer);
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code: params.get('code'),
      redirect_uri: redirectURI(),
      client_id: this.config.oidc.clientId,
      code_verifier: pending.verifier,
    });
    const tok = await tokenRequest(meta.token_endpoint, body);
    this.set(oidcState(tok, null));
  }
}

function redirectURI() {
  return window.location.origin + window.location.pathname;
}

async function discover(issuer) {
  const res = await fetch(issuer.replace(/\/$/, '') + '/.well-known/openid-configuration');
  if (!res.ok) throw new Error(`issuer discovery failed: HTTP ${res.status}`);
  return res.json();
}

async function tokenRequest(endpoint, body) {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body,
  });
  const tok = await res.json().catch(() => ({}));
  if (!res.ok || !tok.access_token) {
    throw new Error(`token request failed: ${tok.error || 'HTTP ' + res.status} ${tok.error_description || ''}`.trim());
  }
  return tok;
}

function oidcState(tok, previous) {
  const claims = decodeClaims(tok.id_token || tok.access_token);
  return {
    kind: 'oidc',
    token: tok.access_token,
    refreshToken: tok.refresh_token || (previous && previous.refreshToken) || '',
    expiresAt: Date.now() + (Number(tok.expires_in) || 300) * 1000,
    email: claims.email || (previous && previous.email) || claims.sub || '',
    label: claims.name || '',
  };
}

// decodeClaims reads a JWT's payload for display only; the server verifies.
function decodeClaims(jwt) {
  try {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '=')));
  } catch {
    return {};
  }
}

function randomString(bytes) {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b);
  return base64url(b.buffer);
}

function base64url(buf) {
  let s = '';
  for (const c of new Uint8Array(buf)) s += String.fromCharCode(c);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
