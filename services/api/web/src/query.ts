// The grid's query: filters, sort and page, kept in the URL so a view can be shared and survives reload.

export type SortField = 'name' | 'resourceType' | 'region' | 'accountId' | 'state' | 'lastDiscoveredAt' | 'discoveryStatus'
export const SORT_FIELDS: SortField[] = ['name', 'resourceType', 'region', 'accountId', 'state', 'lastDiscoveredAt', 'discoveryStatus']
export const PAGE_SIZES = [50, 100, 500, 1000, 10000, 100000]
export const DEFAULT_PAGE_SIZE = 100

export interface InventoryFilters {
  accountId: string[]
  resourceType: string[]
  region: string[]
  status: string[]
  search: string
}

export interface GridQuery extends InventoryFilters {
  sortBy: SortField
  sortOrder: 'asc' | 'desc'
  page: number
  pageSize: number
}

export const EMPTY_FILTERS: InventoryFilters = { accountId: [], resourceType: [], region: [], status: [], search: '' }
export const DEFAULT_QUERY: GridQuery = { ...EMPTY_FILTERS, sortBy: 'name', sortOrder: 'asc', page: 1, pageSize: DEFAULT_PAGE_SIZE }
const LISTS = ['accountId', 'resourceType', 'region', 'status'] as const

function positive(value: string | null, fallback: number, max: number): number {
  const n = value !== null && /^\d+$/.test(value) ? Number(value) : NaN
  return Number.isFinite(n) && n >= 1 ? Math.min(n, max) : fallback
}

export function parseQuery(search: string): GridQuery {
  const params = new URLSearchParams(search)
  const list = (key: string) => (params.get(key) ?? '').split(',').filter(Boolean)
  const sortBy = params.get('sortBy') as SortField | null
  return {
    accountId: list('accountId'),
    resourceType: list('resourceType'),
    region: list('region'),
    status: list('status'),
    search: params.get('search') ?? '',
    sortBy: sortBy && SORT_FIELDS.includes(sortBy) ? sortBy : DEFAULT_QUERY.sortBy,
    sortOrder: params.get('sortOrder') === 'desc' ? 'desc' : 'asc',
    page: positive(params.get('page'), 1, 1_000_000),
    pageSize: positive(params.get('pageSize'), DEFAULT_PAGE_SIZE, 100_000),
  }
}

/** The URL search string of a query: only what differs from the defaults, in a stable order. */
export function queryToSearch(query: GridQuery): string {
  const params = new URLSearchParams()
  for (const key of LISTS) if (query[key].length) params.set(key, query[key].join(','))
  if (query.search) params.set('search', query.search)
  if (query.sortBy !== DEFAULT_QUERY.sortBy) params.set('sortBy', query.sortBy)
  if (query.sortOrder !== DEFAULT_QUERY.sortOrder) params.set('sortOrder', query.sortOrder)
  if (query.page !== 1) params.set('page', String(query.page))
  if (query.pageSize !== DEFAULT_PAGE_SIZE) params.set('pageSize', String(query.pageSize))
  const text = params.toString()
  return text ? `?${text}` : ''
}

/** The API path for a query (always explicit, so the server never guesses). */
export function resourcesPath(query: GridQuery): string {
  const params = new URLSearchParams()
  for (const key of LISTS) if (query[key].length) params.set(key, query[key].join(','))
  if (query.search.trim()) params.set('search', query.search.trim())
  params.set('page', String(query.page))
  params.set('pageSize', String(query.pageSize))
  params.set('sortBy', query.sortBy)
  params.set('sortOrder', query.sortOrder)
  return `/api/inventory/resources?${params.toString()}`
}

export function exportFilters(query: GridQuery): Record<string, string[] | string> {
  const filters: Record<string, string[] | string> = {}
  for (const key of LISTS) if (query[key].length) filters[key] = query[key]
  if (query.search.trim()) filters.search = query.search.trim()
  return filters
}
