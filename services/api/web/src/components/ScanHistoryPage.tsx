import { useCallback, useEffect, useState } from 'react'

import { api, ApiError, describeError } from '../api'
import { count, duration } from '../format'
import type { ScanExecution, SyncHistoryPage } from '../types'
import { StatusBadge } from './StatusBadge'
import { Time } from './Time'

/** Past executions (newest first, paged by nextToken) and one execution's per-account progress. */
export function ScanHistoryPage() {
  const [items, setItems] = useState<SyncHistoryPage['items'] | null>(null)
  const [next, setNext] = useState<string | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [selected, setSelected] = useState<ScanExecution | null>(null)
  const [detailError, setDetailError] = useState<unknown>(null)

  const load = useCallback(async (token: string | null) => {
    try {
      const page = await api<SyncHistoryPage>(
        `/api/inventory/sync?limit=20${token ? `&nextToken=${encodeURIComponent(token)}` : ''}`,
      )
      setItems((prev) => (token && prev ? [...prev, ...page.items] : page.items))
      setNext(page.nextToken)
      setError(null)
    } catch (e) {
      setError(e)
    }
  }, [])
  useEffect(() => void load(null), [load])
  const open = async (executionId: string) => {
    setDetailError(null)
    try {
      setSelected(await api<ScanExecution>(`/api/inventory/sync/${encodeURIComponent(executionId)}`))
    } catch (e) {
      setDetailError(e)
    }
  }

  if (error)
    return (
      <div className="error-state" role="alert">
        <p>
          {error instanceof ApiError && (error.status === 404 || error.status === 405)
            ? 'This server has no scan history API yet (GET /api/inventory/sync is not there).'
            : describeError(error)}
        </p>
        <button type="button" onClick={() => void load(null)}>
          Retry
        </button>
      </div>
    )
  if (items === null)
    return (
      <div className="skeleton" aria-busy="true" aria-label="Loading scan history">
        {Array.from({ length: 5 }, (_, i) => (
          <div key={i} className="skeleton-row" />
        ))}
      </div>
    )
  return (
    <div className="scans-page">
      <h1>Scan history</h1>
      {items.length === 0 ? (
        <p className="empty-state">No scans yet.</p>
      ) : (
        <div className="table-scroll">
          <table className="data-table" aria-label="Scans">
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Status</th>
                <th scope="col">Trigger</th>
                <th scope="col">Accounts</th>
                <th scope="col">Resources</th>
                <th scope="col">Failed scopes</th>
                <th scope="col">Execution</th>
              </tr>
            </thead>
            <tbody>
              {items.map((x) => (
                <tr key={x.executionId} data-execution={x.executionId}>
                  <td>
                    <Time iso={x.startedAt} />
                  </td>
                  <td>
                    <StatusBadge status={x.status} />
                  </td>
                  <td>
                    {x.trigger ?? '–'}
                    {x.requestedBy && <span className="muted"> by {x.requestedBy}</span>}
                  </td>
                  <td>
                    {count(x.accountsCompleted)} / {count(x.accountsTotal)}
                  </td>
                  <td>{count(x.resourceCount)}</td>
                  <td>{count(x.failedScopes)}</td>
                  <td>
                    <button type="button" className="link mono" onClick={() => void open(x.executionId)}>
                      {x.executionId.slice(0, 8)}…
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next && (
        <button type="button" onClick={() => void load(next)}>
          Load older scans
        </button>
      )}
      {detailError ? <p className="error-text">{describeError(detailError)}</p> : null}
      {selected && (
        <section className="execution-detail" aria-label="Scan detail" data-testid="execution-detail">
          <h2>
            Scan <span className="mono">{selected.executionId}</span> <StatusBadge status={selected.status} />
          </h2>
          <p className="muted">
            {selected.trigger ?? ''} {selected.requestedBy ? `by ${selected.requestedBy}` : ''} · started{' '}
            <Time iso={selected.startedAt} /> · {duration(selected.durationMs)}
          </p>
          <table className="data-table">
            <thead>
              <tr>
                <th scope="col">Account</th>
                <th scope="col">Status</th>
                <th scope="col">Resources</th>
                <th scope="col">Duration</th>
                <th scope="col">Completed</th>
              </tr>
            </thead>
            <tbody>
              {selected.accounts.map((a) => (
                <tr key={a.accountId}>
                  <td className="mono">{a.accountId}</td>
                  <td>
                    <StatusBadge status={a.status} />
                  </td>
                  <td>{count(a.resourceCount)}</td>
                  <td>{duration(a.durationMs)}</td>
                  <td>
                    <Time iso={a.completedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  )
}
