import { useCallback, useEffect, useState } from 'react'

import { describeError } from '../api'
import { count } from '../format'
import { EMPTY_FILTERS, PAGE_SIZES, parseQuery, queryToSearch, type GridQuery, type SortField } from '../query'
import { CHUNK, resumeExecution, useInventory } from '../store'
import type { Resource, RoleName } from '../types'
import { DetailDrawer } from './DetailDrawer'
import { InventoryGrid, ROW_HEIGHT } from './InventoryGrid'
import { MultiSelect } from './MultiSelect'
import { RetryCountdown } from './RetryCountdown'
import { SyncBanner } from './SyncBanner'
import { ExportButton, SearchBox, SyncButton } from './Toolbar'

const STATUSES = ['active', 'missing']

export function InventoryPage({ role }: { role: RoleName }) {
  const s = useInventory()
  const [open, setOpen] = useState<Resource | null>(null)

  // The URL is the source of truth for the query: load from it, and write every change back.
  const apply = useCallback((change: Partial<GridQuery>, push = true) => {
    const query = { ...useInventory.getState().query, ...change }
    const search = queryToSearch(query)
    if (search !== window.location.search) {
      if (push) history.pushState(null, '', `/${search}`)
      else history.replaceState(null, '', `/${search}`)
    }
    void useInventory.getState().fetchResources(query)
  }, [])
  useEffect(() => {
    resumeExecution()
    const wanted = parseQuery(window.location.search)
    const state = useInventory.getState()
    const asked = state.isLoading && queryToSearch(state.query) === queryToSearch(wanted)
    if (!asked) apply(wanted, false) // else the request started at sign-in is this page's
    void useInventory.getState().fetchStatus()
    void useInventory.getState().pollExecution()
    const onPop = () => void useInventory.getState().fetchResources(parseQuery(window.location.search))
    window.addEventListener('popstate', onPop)
    return () => window.removeEventListener('popstate', onPop)
  }, [apply])

  const q = s.query
  const onSort = (field: SortField) =>
    apply({ sortBy: field, sortOrder: q.sortBy === field && q.sortOrder === 'asc' ? 'desc' : 'asc', page: 1 })
  const onSearch = useCallback((text: string) => apply({ search: text, page: 1 }, false), [apply])
  const filtered = q.accountId.length + q.resourceType.length + q.region.length + q.status.length > 0 || q.search !== ''
  const single = q.accountId.length === 1 ? s.options.accounts.find((a) => a.id === q.accountId[0]) : undefined
  const { page, totalPages, totalItems } = s.pagination
  const gridHeight = Math.min(Math.max(s.resources.length, 8), 18) * ROW_HEIGHT + ROW_HEIGHT + 2

  return (
    <div className="inventory-page" data-loading={s.isLoading ? "true" : "false"}>
      <SyncBanner />
      <div className="toolbar" role="toolbar" aria-label="Inventory actions">
        <SearchBox value={q.search} onSearch={onSearch} />
        <ExportButton />
        {role !== 'viewer' && <SyncButton accountId={single?.id} accountName={single?.name} />}
      </div>
      <div className="filters" aria-label="Filters" role="group">
        <MultiSelect
          label="Account"
          options={s.options.accounts.map((a) => ({ value: a.id, label: `${a.name} (${a.id})` }))}
          selected={q.accountId}
          onChange={(v) => apply({ accountId: v, page: 1 })}
        />
        <MultiSelect
          label="Type"
          options={s.options.resourceTypes.map((t) => ({ value: t, label: t }))}
          selected={q.resourceType}
          onChange={(v) => apply({ resourceType: v, page: 1 })}
        />
        <MultiSelect
          label="Region"
          options={s.options.regions.map((r) => ({ value: r, label: r }))}
          selected={q.region}
          onChange={(v) => apply({ region: v, page: 1 })}
        />
        <MultiSelect
          label="Status"
          options={STATUSES.map((x) => ({ value: x, label: x }))}
          selected={q.status}
          onChange={(v) => apply({ status: v, page: 1 })}
        />
        {filtered && (
          <button type="button" className="link" onClick={() => apply({ ...EMPTY_FILTERS, page: 1 })}>
            Clear filters
          </button>
        )}
        <span className="result-count" role="status" aria-live="polite" data-testid="result-count">
          {s.loaded ? `${count(totalItems)} resources` : ''}
          {s.isLoading ? (s.loaded && s.resources.length > 0 && q.pageSize > CHUNK ? ` · ${count(s.resources.length)} loaded…` : ' · loading…') : ''}
        </span>
      </div>

      {s.error ? (
        <div className="error-state" role="alert">
          <p>{describeError(s.error)}</p>
          {'status' in s.error && s.error.status === 429 ? (
            <RetryCountdown seconds={(s.error as { retryAfterS: number | null }).retryAfterS ?? 60} onRetry={() => apply({}, false)} />
          ) : (
            <button type="button" onClick={() => apply({}, false)}>
              Retry
            </button>
          )}
        </div>
      ) : !s.loaded ? (
        <div className="skeleton" aria-busy="true" aria-label="Loading resources">
          {Array.from({ length: 10 }, (_, i) => (
            <div key={i} className="skeleton-row" />
          ))}
        </div>
      ) : s.resources.length === 0 ? (
        <div className="empty-state" data-testid="empty">
          <p>{filtered ? 'No resources match these filters.' : 'No resources yet: run a sync to discover them.'}</p>
          {filtered && (
            <button type="button" onClick={() => apply({ ...EMPTY_FILTERS, page: 1 })}>
              Clear filters
            </button>
          )}
        </div>
      ) : (
        <InventoryGrid
          rows={s.resources}
          sortBy={q.sortBy}
          sortOrder={q.sortOrder}
          onSort={onSort}
          onOpen={setOpen}
          height={q.pageSize > 18 ? 'calc(100vh - 290px)' : gridHeight}
        />
      )}

      <nav className="pager" aria-label="Pages">
        <button type="button" onClick={() => apply({ page: 1 })} disabled={page <= 1} aria-label="First page">
          «
        </button>
        <button type="button" onClick={() => apply({ page: page - 1 })} disabled={page <= 1} aria-label="Previous page">
          ‹
        </button>
        <span data-testid="page-indicator">
          Page {page} of {Math.max(totalPages, 1)}
        </span>
        <button type="button" onClick={() => apply({ page: page + 1 })} disabled={page >= totalPages} aria-label="Next page">
          ›
        </button>
        <button type="button" onClick={() => apply({ page: totalPages })} disabled={page >= totalPages} aria-label="Last page">
          »
        </button>
        <label>
          Rows per page{' '}
          <select value={q.pageSize} onChange={(e) => apply({ pageSize: Number(e.target.value), page: 1 })} aria-label="Rows per page">
            {(PAGE_SIZES.includes(q.pageSize) ? PAGE_SIZES : [...PAGE_SIZES, q.pageSize].sort((a, b) => a - b)).map((n) => (
              <option key={n} value={n}>
                {count(n)}
              </option>
            ))}
          </select>
        </label>
      </nav>
      {open && <DetailDrawer resource={open} onClose={() => setOpen(null)} />}
    </div>
  )
}
