// Sign-in: the local demo token (from a #token= fragment, then removed from the URL), or in AWS the
// OIDC authorization code flow with PKCE against the user pool (public client: no secret in the browser).
// The token lives in sessionStorage only: it is gone when the tab closes.

import type { UiConfig } from './types'

const TOKEN_KEY = 'inventory.token'
const PKCE_KEY = 'inventory.pkce'

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY)
}

export function storeToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token.trim())
}

export function signOut(): void {
  sessionStorage.removeItem(TOKEN_KEY)
}

/** Take a token handed over in the URL fragment (`#token=...`) and remove it from the address bar. */
export function takeTokenFromFragment(loc: Location = window.location): boolean {
  const params = new URLSearchParams(loc.hash.replace(/^#/, ''))
  const token = params.get('token')
  if (!token) return false
  storeToken(token)
  history.replaceState(history.state, '', loc.pathname + loc.search)
  return true
}

/** Seconds until the JWT expires (negative when expired), or null if it cannot be read. */
export function tokenExpiresIn(token: string, now: number = Date.now()): number | null {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: number }
    return typeof payload.exp === 'number' ? payload.exp - Math.floor(now / 1000) : null
  } catch {
    return null
  }
}

function base64url(bytes: Uint8Array): string {
  let text = ''
  bytes.forEach((b) => (text += String.fromCharCode(b)))
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

export function randomVerifier(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(48)))
}

export async function challengeFor(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))
  return base64url(new Uint8Array(digest))
}

function redirectUri(): string {
  return `${window.location.origin}/`
}

/** Send the browser to the user pool's sign-in page (authorization code + PKCE S256). */
export async function startOidcSignIn(oidc: NonNullable<UiConfig['oidc']>): Promise<void> {
  const verifier = randomVerifier()
  const state = randomVerifier()
  const back = window.location.pathname + window.location.search
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, back }))
  const url = new URL(oidc.authorizeUrl)
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: oidc.clientId,
    redirect_uri: redirectUri(),
    scope: oidc.scopes,
    state,
    code_challenge: await challengeFor(verifier),
    code_challenge_method: 'S256',
  }).toString()
  window.location.assign(url.toString())
}

/** Back from the sign-in page with ?code=&state=: trade the code for tokens. Returns true when signed in. */
export async function completeOidcSignIn(oidc: NonNullable<UiConfig['oidc']>): Promise<boolean> {
  const params = new URLSearchParams(window.location.search)
  const code = params.get('code')
  const saved = sessionStorage.getItem(PKCE_KEY)
  if (!code || !saved) return false
  sessionStorage.removeItem(PKCE_KEY)
  const { verifier, state, back } = JSON.parse(saved) as { verifier: string; state: string; back: string }
  if (params.get('state') !== state) throw new Error('The sign-in response does not match this browser session.')
  const response = await fetch(oidc.tokenUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: oidc.clientId,
      code,
      redirect_uri: redirectUri(),
      code_verifier: verifier,
    }),
  })
  if (!response.ok) throw new Error(`The sign-in failed (${response.status}).`)
  const tokens = (await response.json()) as { id_token?: string }
  if (!tokens.id_token) throw new Error('The sign-in returned no ID token.')
  storeToken(tokens.id_token) // the API verifies the ID token (its audience is the app client id)
  history.replaceState(null, '', back || '/')
  return true
}
