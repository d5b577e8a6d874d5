import { useCallback, useEffect, useState, type FormEvent, type MouseEvent } from 'react'

import { api, ApiError, describeError, onUnauthorized, setTokenSource } from './api'
import { completeOidcSignIn, signOut, startOidcSignIn, storedToken, storeToken, takeTokenFromFragment } from './auth'
import { AccountsPage } from './components/AccountsPage'
import { InventoryPage } from './components/InventoryPage'
import { ScanHistoryPage } from './components/ScanHistoryPage'
import { parseQuery } from './query'
import { useInventory } from './store'
import type { Me, UiConfig } from './types'

type Route = 'inventory' | 'accounts' | 'scans'

export function routeOf(pathname: string): Route {
  if (pathname.startsWith('/accounts')) return 'accounts'
  if (pathname.startsWith('/scans')) return 'scans'
  return 'inventory'
}

setTokenSource(storedToken)

/** Ask for the grid's first page as early as possible (the page reuses the request when it mounts). */
function prefetchGrid(): void {
  void useInventory.getState().fetchResources(parseQuery(window.location.search))
}

type Session =
  | { state: 'loading' }
  | { state: 'signed-out'; config: UiConfig | null; reason: string | null }
  | { state: 'signed-in'; me: Me; config: UiConfig | null }

export function App() {
  const [session, setSession] = useState<Session>({ state: 'loading' })
  const [route, setRoute] = useState<Route>(routeOf(window.location.pathname))

  const boot = useCallback(async (reason: string | null = null) => {
    let config: UiConfig | null = null
    takeTokenFromFragment()
    const returning = new URLSearchParams(window.location.search).has('code') // back from the OIDC sign-in
    // With a token, ask who we are (and start the grid's first page) while the config loads: one round trip.
    const early = storedToken() && !returning ? api<Me>('/api/inventory/me') : null
    if (early && routeOf(window.location.pathname) === 'inventory') prefetchGrid()
    early?.catch(() => undefined)
    try {
      config = await api<UiConfig>('/api/inventory/config')
      if (config.oidc && returning && (await completeOidcSignIn(config.oidc))) setRoute(routeOf(window.location.pathname))
    } catch (error) {
      reason = describeError(error)
    }
    // With an early /me in flight, its answer decides: a 401 elsewhere (the prefetched grid) may already have
    // signed out, and the reason must come from that answer, not be dropped.
    if (!storedToken() && !early) {
      setSession({ state: 'signed-out', config, reason })
      return
    }
    try {
      setSession({ state: 'signed-in', me: await (early ?? api<Me>('/api/inventory/me')), config })
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) signOut()
      setSession({ state: 'signed-out', config, reason: describeError(error) })
    }
  }, [])
  useEffect(() => {
    void boot()
    const off = onUnauthorized((error) => {
      signOut()
      const reason = `${error.message}: sign in again.`
      setSession((s) => ({ state: 'signed-out', config: s.state === 'loading' ? null : s.config, reason }))
    })
    const onPop = () => setRoute(routeOf(window.location.pathname))
    const onHash = () => takeTokenFromFragment() && void boot() // a new #token= on the same page: switch user
    window.addEventListener('popstate', onPop)
    window.addEventListener('hashchange', onHash)
    return () => {
      off()
      window.removeEventListener('popstate', onPop)
      window.removeEventListener('hashchange', onHash)
    }
  }, [boot])

  const navigate = (event: MouseEvent<HTMLAnchorElement>, to: Route) => {
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return
    event.preventDefault()
    history.pushState(null, '', event.currentTarget.getAttribute('href'))
    setRoute(to)
  }

  if (session.state === 'loading')
    return (
      <div className="boot" aria-busy="true">
        Loading…
      </div>
    )
  if (session.state === 'signed-out') return <SignIn config={session.config} reason={session.reason} onSignedIn={() => void boot()} />
  const { me } = session
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">AWS Auto-Discovery</span>
        <nav aria-label="Pages">
          <a href="/" aria-current={route === 'inventory' ? 'page' : undefined} onClick={(e) => navigate(e, 'inventory')}>
            Inventory
          </a>
          <a href="/accounts" aria-current={route === 'accounts' ? 'page' : undefined} onClick={(e) => navigate(e, 'accounts')}>
            Accounts
          </a>
          <a href="/scans" aria-current={route === 'scans' ? 'page' : undefined} onClick={(e) => navigate(e, 'scans')}>
            Scan history
          </a>
        </nav>
        <span className="who" data-testid="who">
          <span className="user">{me.user}</span> <span className={`role role-${me.role}`}>{me.role}</span>
          <button
            type="button"
            className="link"
            onClick={() => {
              signOut()
              setSession({ state: 'signed-out', config: session.config, reason: null })
            }}
          >
            Sign out
          </button>
        </span>
      </header>
      <main id="main">
        {route === 'inventory' && <InventoryPage role={me.role} />}
        {route === 'accounts' && <AccountsPage role={me.role} />}
        {route === 'scans' && <ScanHistoryPage />}
      </main>
    </div>
  )
}

function SignIn({ config, reason, onSignedIn }: { config: UiConfig | null; reason: string | null; onSignedIn: () => void }) {
  const [error, setError] = useState<string | null>(null)
  const paste = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault()
    const token = String(new FormData(event.currentTarget).get('token') ?? '').trim()
    if (!token) return
    storeToken(token)
    onSignedIn()
  }
  return (
    <main className="signin" id="main">
      <h1>AWS Auto-Discovery</h1>
      {reason && (
        <p className="warning" role="alert">
          {reason}
        </p>
      )}
      {config?.oidc ? (
        <button type="button" className="primary" onClick={() => startOidcSignIn(config.oidc!).catch((e: unknown) => setError(String(e)))}>
          Sign in
        </button>
      ) : (
        <form onSubmit={paste}>
          <p>
            Paste a bearer token (<code>inventory local token --user you --role viewer</code>), or open the URL that{' '}
            <code>make demo</code> prints.
          </p>
          <label>
            Token <input name="token" type="password" autoComplete="off" required />
          </label>
          <button type="submit" className="primary">
            Sign in
          </button>
        </form>
      )}
      {error && <p className="error-text">{error}</p>}
    </main>
  )
}
