// The inventory store (TRD 6.3): resources, filters, pagination, sync status and loading state, with
// the three actions the page needs. A response that arrives after a newer request is dropped.

import { create } from 'zustand'

import { api, ApiError } from './api'
import { DEFAULT_QUERY, exportFilters, resourcesPath, type GridQuery, type InventoryFilters } from './query'
import type {
  AccountStatus,
  ExportResponse,
  FilterOptions,
  Pagination,
  Resource,
  ResourcesPage,
  ScanExecution,
  StatusResponse,
  SyncResponse,
} from './types'

export type ExportState =
  | { phase: 'idle' }
  | { phase: 'running'; startedAt: number }
  | { phase: 'done'; url: string; expiresAt: string }
  | { phase: 'error'; error: ApiError | Error }

export interface InventoryState {
  resources: Resource[]
  query: GridQuery
  filters: InventoryFilters
  options: FilterOptions
  pagination: Pagination
  syncStatus: AccountStatus[]
  nextScheduledSync: string | null
  isLoading: boolean
  loaded: boolean
  error: ApiError | Error | null
  execution: ScanExecution | null
  syncError: ApiError | Error | null
  exportState: ExportState

  fetchResources: (query?: Partial<GridQuery>) => Promise<void>
  fetchStatus: () => Promise<void>
  triggerSync: (accountId?: string) => Promise<void>
  pollExecution: () => Promise<void>
  exportToExcel: (query?: GridQuery) => Promise<string>
}

let latestRequest = 0
const EXECUTION_KEY = 'inventory.execution'
export const RUNNING = new Set(['in_progress', 'running', 'pending', 'started', 'queued'])

export const useInventory = create<InventoryState>()((set, get) => ({
  resources: [],
  query: DEFAULT_QUERY,
  filters: { accountId: [], resourceType: [], region: [], status: [], search: '' },
  options: { resourceTypes: [], regions: [], accounts: [] },
  pagination: { page: 1, pageSize: DEFAULT_QUERY.pageSize, totalItems: 0, totalPages: 0 },
  syncStatus: [],
  nextScheduledSync: null,
  isLoading: false,
  loaded: false,
  error: null,
  execution: null,
  syncError: null,
  exportState: { phase: 'idle' },

  fetchResources: async (change = {}) => {
    const query = { ...get().query, ...change }
    const { accountId, resourceType, region, status, search } = query
    const request = ++latestRequest
    set({ query, filters: { accountId, resourceType, region, status, search }, isLoading: true, error: null })
    try {
      if (query.pageSize > CHUNK && query.pageSize % CHUNK === 0) {
        await fetchInChunks(query, request, set)
        return
      }
      const page = await api<ResourcesPage>(resourcesPath(query))
      if (request !== latestRequest) return
      set({ resources: page.items, pagination: page.pagination, options: page.filters, isLoading: false, loaded: true })
    } catch (error) {
      if (request !== latestRequest) return
      set({ isLoading: false, error: error as Error })
    }
  },

  fetchStatus: async () => {
    try {
      const status = await api<StatusResponse>('/api/inventory/status')
      set({ syncStatus: status.accounts, nextScheduledSync: status.nextScheduledSync })
    } catch {
      // the banner keeps what it had; the grid shows the error if the API is down
    }
  },

  triggerSync: async (accountId) => {
    if (get().execution && RUNNING.has(get().execution!.status)) return // never a double start
    set({ syncError: null, execution: { executionId: '', status: 'in_progress', accounts: [] } })
    try {
      const started = await api<SyncResponse>('/api/inventory/sync', { method: 'POST', json: accountId ? { accountId } : {} })
      sessionStorage.setItem(EXECUTION_KEY, started.executionId)
      set({ execution: { executionId: started.executionId, status: 'in_progress', accounts: [] } })
      await get().pollExecution()
    } catch (error) {
      set({ execution: null, syncError: error as Error })
    }
  },

  pollExecution: async () => {
    const id = get().execution?.executionId || sessionStorage.getItem(EXECUTION_KEY)
    if (!id) return
    try {
      const execution = await api<ScanExecution>(`/api/inventory/sync/${encodeURIComponent(id)}`)
      const wasRunning = get().execution ? RUNNING.has(get().execution!.status) : false
      set({ execution })
      if (!RUNNING.has(execution.status)) {
        sessionStorage.removeItem(EXECUTION_KEY)
        if (wasRunning) {
          await Promise.all([get().fetchStatus(), get().fetchResources()])
        }
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        // just queued: the scanner has not recorded it yet; keep polling while we started it
        if (!get().execution) sessionStorage.removeItem(EXECUTION_KEY)
        return
      }
      set({ syncError: error as Error })
    }
  },

  exportToExcel: async (query) => {
    const q = query ?? get().query
    set({ exportState: { phase: 'running', startedAt: Date.now() } })
    try {
      const result = await api<ExportResponse>('/api/inventory/resources/export', {
        method: 'POST',
        json: { filters: exportFilters(q), sortBy: q.sortBy, sortOrder: q.sortOrder },
      })
      set({ exportState: { phase: 'done', url: result.downloadUrl, expiresAt: result.expiresAt } })
      return result.downloadUrl
    } catch (error) {
      set({ exportState: { phase: 'error', error: error as Error } })
      throw error
    }
  },
}))

/** A large page (10,000 to 100,000 rows): first its first CHUNK rows (shown at once), then the whole page
 * in one request (one big answer is far cheaper than many small ones for the API and the table). */
export const CHUNK = 5000

async function fetchInChunks(
  query: GridQuery,
  request: number,
  set: (partial: Partial<InventoryState>) => void,
): Promise<void> {
  const pagination = (totalItems: number) => ({
    page: query.page,
    pageSize: query.pageSize,
    totalItems,
    totalPages: Math.ceil(totalItems / query.pageSize),
  })
  const previewPage = ((query.page - 1) * query.pageSize) / CHUNK + 1
  const preview = await api<ResourcesPage>(resourcesPath({ ...query, page: previewPage, pageSize: CHUNK }))
  if (request !== latestRequest) return
  const complete = preview.items.length < CHUNK
  set({
    resources: preview.items,
    pagination: pagination(preview.pagination.totalItems),
    options: preview.filters,
    isLoading: !complete,
    loaded: true,
  })
  if (complete) return
  const whole = await api<ResourcesPage>(resourcesPath(query))
  if (request !== latestRequest) return
  set({ resources: whole.items, pagination: whole.pagination, options: whole.filters, isLoading: false })
}

export function resumeExecution(): void {
  const id = sessionStorage.getItem(EXECUTION_KEY)
  if (id) useInventory.setState({ execution: { executionId: id, status: 'in_progress', accounts: [] } })
}
