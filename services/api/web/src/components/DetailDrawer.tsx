import { useCallback, useEffect, useRef, useState } from 'react'

import { api, describeError } from '../api'
import type { HistoryEntry, Resource, ResourceDetail, ResourceHistoryPage } from '../types'
import { StatusBadge } from './StatusBadge'
import { Time } from './Time'

export const HISTORY_PAGE = 20

type HistoryState =
  | { phase: 'loading'; items: HistoryEntry[] }
  | { phase: 'ready'; items: HistoryEntry[]; available: boolean; nextToken: string | null }
  | { phase: 'error'; items: HistoryEntry[]; error: unknown }

/** The resource's status per scan from the lake (newest first, 20 at a time, "Load older" for more). */
export function StatusHistory({ arn }: { arn: string }) {
  const [state, setState] = useState<HistoryState>({ phase: 'loading', items: [] })
  const load = useCallback(
    async (items: HistoryEntry[], token: string | null, live: () => boolean = () => true) => {
      setState({ phase: 'loading', items })
      const query = new URLSearchParams({ limit: String(HISTORY_PAGE), ...(token ? { nextToken: token } : {}) })
      try {
        const page = await api<ResourceHistoryPage>(`/api/inventory/resource-history/${encodeURIComponent(arn)}?${query}`)
        if (live()) setState({ phase: 'ready', items: [...items, ...page.items], available: page.available, nextToken: page.nextToken })
      } catch (error) {
        if (live()) setState({ phase: 'error', items, error })
      }
    },
    [arn],
  )
  useEffect(() => {
    let live = true
    void load([], null, () => live)
    return () => {
      live = false
    }
  }, [load])

  return (
    <div data-testid="status-history">
      {state.items.length > 0 && (
        <table className="kv history">
          <thead>
            <tr>
              <th scope="col">Seen</th>
              <th scope="col">State</th>
              <th scope="col">Scan</th>
            </tr>
          </thead>
          <tbody>
            {state.items.map((h) => (
              <tr key={`${h.executionId}|${h.discoveredAt}`}>
                <td>
                  <Time iso={h.discoveredAt} />
                </td>
                <td>{h.state ?? '–'}</td>
                <td className="mono" title={h.executionId}>
                  {h.executionId.slice(0, 12)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {state.phase === 'loading' && <div className="skeleton-block" aria-busy="true" aria-label="Loading history" />}
      {state.phase === 'error' && <p className="error-text">{describeError(state.error)}</p>}
      {state.phase === 'ready' && state.items.length === 0 && (
        <p className="muted">
          {state.available ? 'The lake has no scan of this resource yet.' : 'No lake history is available here.'}
        </p>
      )}
      {state.phase === 'ready' && state.nextToken && (
        <button type="button" onClick={() => void load(state.items, state.nextToken)}>
          Load older
        </button>
      )}
    </div>
  )
}

export function consoleUrl(arn: string): string {
  return `https://console.aws.amazon.com/go/view?arn=${encodeURIComponent(arn)}`
}

/** Every attribute of one resource, its tags and metadata, first/last seen, copy-ARN and the console link. */
export function DetailDrawer({ resource, onClose }: { resource: Resource; onClose: () => void }) {
  const [detail, setDetail] = useState<ResourceDetail | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [copied, setCopied] = useState(false)
  const closeRef = useRef<HTMLButtonElement>(null)

  useEffect(() => {
    let live = true
    setDetail(null)
    setError(null)
    api<ResourceDetail>(`/api/inventory/resources/${encodeURIComponent(resource.resourceArn)}`)
      .then((d) => live && setDetail(d))
      .catch((e: unknown) => live && setError(e))
    return () => {
      live = false
    }
  }, [resource.resourceArn])
  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null
    closeRef.current?.focus()
    const onKey = (event: KeyboardEvent) => event.key === 'Escape' && onClose()
    document.addEventListener('keydown', onKey)
    return () => {
      document.removeEventListener('keydown', onKey)
      previous?.focus()
    }
  }, [onClose])

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(resource.resourceArn)
    } catch {
      const area = document.createElement('textarea') // clipboard API refused (no secure context)
      area.value = resource.resourceArn
      document.body.appendChild(area)
      area.select()
      document.execCommand('copy')
      area.remove()
    }
    setCopied(true)
    setTimeout(() => setCopied(false), 2000)
  }

  const r: Resource | ResourceDetail = detail ?? resource
  return (
    <aside className="drawer" role="dialog" aria-modal="false" aria-labelledby="drawer-title" data-testid="drawer">
      <header>
        <h2 id="drawer-title">{r.name || r.resourceId}</h2>
        <button type="button" ref={closeRef} onClick={onClose} aria-label="Close details">
          ✕
        </button>
      </header>
      <div className="drawer-actions">
        <button type="button" onClick={copy}>
          {copied ? 'Copied' : 'Copy ARN'}
        </button>
        <a href={consoleUrl(r.resourceArn)} target="_blank" rel="noopener noreferrer">
          Open in AWS console ↗
        </a>
      </div>
      <dl className="attributes">
        <dt>ARN</dt>
        <dd className="mono">{r.resourceArn}</dd>
        <dt>Resource ID</dt>
        <dd className="mono">{r.resourceId}</dd>
        <dt>Type</dt>
        <dd>{r.resourceType}</dd>
        <dt>Account</dt>
        <dd>
          {r.accountName} <span className="muted">{r.accountId}</span>
        </dd>
        <dt>Region</dt>
        <dd>{r.region}</dd>
        <dt>State</dt>
        <dd>{r.state}</dd>
        <dt>Status</dt>
        <dd>
          <StatusBadge status={r.discoveryStatus} />
          {detail?.missingSince ? (
            <>
              {' '}
              since <Time iso={detail.missingSince} />
            </>
          ) : null}
        </dd>
        <dt>First seen</dt>
        <dd>{detail ? <Time iso={detail.firstDiscoveredAt} /> : '…'}</dd>
        <dt>Last seen</dt>
        <dd>
          <Time iso={r.lastDiscoveredAt} />
        </dd>
      </dl>
      <h3>Tags</h3>
      {Object.keys(r.tags).length === 0 ? (
        <p className="muted">No tags</p>
      ) : (
        <table className="kv">
          <tbody>
            {Object.entries(r.tags)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, v]) => (
                <tr key={k}>
                  <th scope="row">{k}</th>
                  <td>{v}</td>
                </tr>
              ))}
          </tbody>
        </table>
      )}
      <h3>Metadata</h3>
      {error ? (
        <p className="error-text">{describeError(error)}</p>
      ) : detail ? (
        <pre className="metadata">{JSON.stringify(detail.metadata, null, 2)}</pre>
      ) : (
        <div className="skeleton-block" aria-busy="true" />
      )}
      <h3>Status history</h3>
      <p className="muted">
        First seen <Time iso={detail?.firstDiscoveredAt} />, last seen <Time iso={r.lastDiscoveredAt} />
        {detail?.missingSince ? (
          <>
            , missing since <Time iso={detail.missingSince} />
          </>
        ) : null}
        . Every scan that saw it, from the lake:
      </p>
      <StatusHistory arn={resource.resourceArn} />
    </aside>
  )
}
