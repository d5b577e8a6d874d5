import { Fragment, useCallback, useEffect, useState, type FormEvent } from 'react'

import { api, ApiError, describeError } from '../api'
import { count, duration } from '../format'
import type { Account, AccountCheck, AccountsPage as Page, RoleName } from '../types'
import { StatusBadge } from './StatusBadge'
import { Time } from './Time'

function notAvailable(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || error.status === 405) && error.code !== 'not_found_account'
}

/** Registered accounts with their sync state; admins enable/disable, add, remove and check access. */
export function AccountsPage({ role }: { role: RoleName }) {
  const [accounts, setAccounts] = useState<Account[] | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [actionError, setActionError] = useState<unknown>(null)
  const [busy, setBusy] = useState<string | null>(null)
  const [checks, setChecks] = useState<Record<string, AccountCheck>>({})
  const admin = role === 'admin'

  const load = useCallback(async () => {
    try {
      const page = await api<Page>('/api/inventory/accounts')
      setAccounts(page.items)
      setError(null)
    } catch (e) {
      setError(e)
    }
  }, [])
  useEffect(() => void load(), [load])

  const act = async (key: string, action: () => Promise<unknown>) => {
    setBusy(key)
    setActionError(null)
    try {
      await action()
      await load()
    } catch (e) {
      setActionError(e)
      await load()
    } finally {
      setBusy(null)
    }
  }
  const setEnabled = (a: Account, syncEnabled: boolean) => {
    // show the change at once; the reload after the PATCH (or after its error) shows the truth
    setAccounts((list) => list && list.map((x) => (x.accountId === a.accountId ? { ...x, syncEnabled } : x)))
    return act(`enable-${a.accountId}`, () =>
      api<Account>(`/api/inventory/accounts/${a.accountId}`, { method: 'PATCH', json: { syncEnabled } }),
    )
  }
  const check = (a: Account) =>
    act(`check-${a.accountId}`, async () => {
      const result = await api<AccountCheck>(`/api/inventory/accounts/${a.accountId}/check`, { method: 'POST' })
      setChecks((c) => ({ ...c, [a.accountId]: result }))
    })
  const remove = (a: Account) => {
    if (window.confirm(`Remove ${a.accountName} (${a.accountId}) from the inventory?`))
      void act(`delete-${a.accountId}`, () => api(`/api/inventory/accounts/${a.accountId}`, { method: 'DELETE' }))
  }

  if (error)
    return (
      <div className="error-state" role="alert">
        <p>
          {notAvailable(error)
            ? 'This server has no accounts API yet (GET /api/inventory/accounts is not there).'
            : describeError(error)}
        </p>
        <button type="button" onClick={() => void load()}>
          Retry
        </button>
      </div>
    )
  if (accounts === null)
    return (
      <div className="skeleton" aria-busy="true" aria-label="Loading accounts">
        {Array.from({ length: 4 }, (_, i) => (
          <div key={i} className="skeleton-row" />
        ))}
      </div>
    )
  return (
    <div className="accounts-page">
      <h1>Accounts</h1>
      {actionError ? (
        <p className="error-text" role="alert">
          {describeError(actionError)}
        </p>
      ) : null}
      {accounts.length === 0 ? (
        <p className="empty-state">No accounts registered{admin ? ': add one below.' : '.'}</p>
      ) : (
        <div className="table-scroll">
          <table className="data-table" aria-label="Accounts">
            <thead>
              <tr>
                <th scope="col">Account</th>
                <th scope="col">Role</th>
                <th scope="col">Regions</th>
                <th scope="col">Sync</th>
                <th scope="col">Last sync</th>
                <th scope="col">Resources</th>
                {admin && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {accounts.map((a) => (
                <Fragment key={a.accountId}>
                  <tr data-account={a.accountId}>
                    <td>
                      <strong>{a.accountName}</strong>
                      <div className="muted mono">{a.accountId}</div>
                      {a.source === 'nucleus' && <span className="muted"> from Nucleus</span>}
                    </td>
                    <td className="mono">
                      {a.roleName}
                      {a.externalIdConfigured && <div className="muted">ExternalId …{a.externalIdHint ?? ''}</div>}
                    </td>
                    <td>{a.regions ? a.regions.join(', ') : <span className="muted">default</span>}</td>
                    <td>
                      {admin ? (
                        <label className="switch">
                          <input
                            type="checkbox"
                            checked={a.syncEnabled}
                            disabled={busy === `enable-${a.accountId}`}
                            onChange={(e) => void setEnabled(a, e.target.checked)}
                            aria-label={`Sync enabled for ${a.accountName}`}
                          />
                          {a.syncEnabled ? 'enabled' : 'disabled'}
                        </label>
                      ) : (
                        <StatusBadge status={a.syncEnabled ? 'enabled' : 'disabled'} />
                      )}
                    </td>
                    <td>
                      <StatusBadge status={a.lastSyncStatus} /> <Time iso={a.lastSyncedAt} />
                      {a.lastSyncDurationMs !== null && <div className="muted">{duration(a.lastSyncDurationMs)}</div>}
                    </td>
                    <td>{count(a.lastSyncResourceCount)}</td>
                    {admin && (
                      <td>
                        <div className="actions">
                        <button type="button" onClick={() => void check(a)} disabled={busy === `check-${a.accountId}`}>
                          {busy === `check-${a.accountId}` ? 'Checking…' : 'Check access'}
                        </button>
                        <button type="button" className="danger" onClick={() => remove(a)}>
                          Remove
                        </button>
                        </div>
                      </td>
                    )}
                  </tr>
                  {checks[a.accountId] && (
                    <tr className="check-row">
                      <td colSpan={admin ? 7 : 6}>
                        <CheckResults check={checks[a.accountId]} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {admin && <AddAccount onAdded={load} />}
      {!admin && <p className="muted">Only admins can add, enable or check accounts (you are {role}).</p>}
    </div>
  )
}

function CheckResults({ check }: { check: AccountCheck }) {
  return (
    <div className="check-results" data-testid="check-results">
      Access checked <Time iso={check.checkedAt} />:
      <ul>
        {check.results.map((r) => (
          <li key={r.region}>
            <strong>{r.region}</strong> <StatusBadge status={r.status} />
            {r.message && <span> {r.message}</span>}
            {r.action && <span className="muted"> · {r.action}</span>}
          </li>
        ))}
      </ul>
    </div>
  )
}

function AddAccount({ onAdded }: { onAdded: () => Promise<void> }) {
  const [error, setError] = useState<unknown>(null)
  const [saving, setSaving] = useState(false)
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault()
    const form = event.currentTarget
    const data = new FormData(form)
    const text = (k: string) => String(data.get(k) ?? '').trim()
    const body: Record<string, unknown> = { accountId: text('accountId'), accountName: text('accountName') }
    if (text('roleName')) body.roleName = text('roleName')
    if (text('externalId')) body.externalId = text('externalId')
    if (text('regions')) body.regions = text('regions').split(/[\s,]+/).filter(Boolean)
    body.syncEnabled = data.get('syncEnabled') === 'on'
    setSaving(true)
    setError(null)
    try {
      await api<Account>('/api/inventory/accounts', { method: 'POST', json: body })
      form.reset()
      await onAdded()
    } catch (e) {
      setError(e)
    } finally {
      setSaving(false)
    }
  }
  return (
    <form className="add-account" onSubmit={submit} aria-label="Add an account">
      <h2>Add an account</h2>
      <label>
        Account id <input name="accountId" required pattern="\d{12}" inputMode="numeric" placeholder="123456789012" />
      </label>
      <label>
        Name <input name="accountName" required maxLength={256} />
      </label>
      <label>
        Role name <input name="roleName" placeholder="NucleusAccess-Inventory" pattern="NucleusAccess-[\w+=,.@-]+" />
      </label>
      <label>
        External id <input name="externalId" type="password" autoComplete="off" />
      </label>
      <label>
        Regions <input name="regions" placeholder="default regions" />
      </label>
      <label className="switch">
        <input name="syncEnabled" type="checkbox" defaultChecked /> Sync enabled
      </label>
      <button type="submit" className="primary" disabled={saving}>
        {saving ? 'Adding…' : 'Add account'}
      </button>
      {error ? (
        <p className="error-text" role="alert">
          {describeError(error)}
        </p>
      ) : null}
    </form>
  )
}
