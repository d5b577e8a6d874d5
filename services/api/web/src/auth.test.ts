import { describe, expect, it } from 'vitest'

import { challengeFor, storedToken, takeTokenFromFragment, tokenExpiresIn } from './auth'

describe('auth', () => {
  it('takes the demo token from the fragment and removes it from the address bar', () => {
    history.replaceState(null, '', '/accounts?x=1#token=abc.def.ghi')
    expect(takeTokenFromFragment()).toBe(true)
    expect(storedToken()).toBe('abc.def.ghi')
    expect(window.location.hash).toBe('')
    expect(window.location.pathname + window.location.search).toBe('/accounts?x=1')
    expect(takeTokenFromFragment()).toBe(false)
  })

  it('derives the PKCE S256 challenge of RFC 7636 appendix B', async () => {
    expect(await challengeFor('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    )
  })

  it('reads the expiry of a JWT', () => {
    const payload = btoa(JSON.stringify({ exp: 1000 })).replace(/=+$/, '')
    expect(tokenExpiresIn(`h.${payload}.s`, 400_000)).toBe(600)
    expect(tokenExpiresIn('garbage')).toBeNull()
  })
})
