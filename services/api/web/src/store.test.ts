import { afterEach, describe, expect, it, vi } from 'vitest'

import { ApiError, describeError } from './api'
import { useInventory } from './store'

function page(name: string) {
  return {
    items: [{ name }],
    pagination: { page: 1, pageSize: 100, totalItems: 1, totalPages: 1 },
    filters: { resourceTypes: [], regions: [], accounts: [] },
  }
}

afterEach(() => vi.unstubAllGlobals())

describe('inventory store', () => {
  it('keeps the answer to the newest query when an older one arrives last', async () => {
    const resolvers: ((r: Response) => void)[] = []
    vi.stubGlobal('fetch', vi.fn(() => new Promise<Response>((resolve) => resolvers.push(resolve))))
    const slow = useInventory.getState().fetchResources({ search: 'old' })
    const fast = useInventory.getState().fetchResources({ search: 'new' })
    resolvers[1](new Response(JSON.stringify(page('new')), { status: 200 }))
    await fast
    resolvers[0](new Response(JSON.stringify(page('old')), { status: 200 }))
    await slow
    expect(useInventory.getState().resources[0].name).toBe('new')
    expect(useInventory.getState().query.search).toBe('new')
    expect(String(vi.mocked(fetch).mock.calls[1][0])).toContain('search=new')
  })

  it('turns a 429 into an error that says when to retry', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response(JSON.stringify({ error: 'rate_limited', message: 'slow down', requestId: 'r1' }), { status: 429, headers: { 'Retry-After': '17' } })),
    )
    await useInventory.getState().fetchResources({ search: 'x' })
    const error = useInventory.getState().error as ApiError
    expect(error.status).toBe(429)
    expect(error.retryAfterS).toBe(17)
    expect(describeError(error)).toBe('Too many requests: retry in 17 s.')
  })

  it('starts one sync at a time', async () => {
    const calls: string[] = []
    vi.stubGlobal(
      'fetch',
      vi.fn(async (path: string, init?: RequestInit) => {
        calls.push(`${init?.method ?? 'GET'} ${path}`)
        if (init?.method === 'POST')
          return new Response(JSON.stringify({ message: 'ok', executionId: 'e1', status: 'in_progress' }), { status: 202 })
        return new Response(JSON.stringify({ executionId: 'e1', status: 'in_progress', accounts: [] }), { status: 200 })
      }),
    )
    await useInventory.getState().triggerSync()
    await useInventory.getState().triggerSync()
    expect(calls.filter((c) => c.startsWith('POST'))).toEqual(['POST /api/inventory/sync'])
    expect(useInventory.getState().execution?.executionId).toBe('e1')
  })

  it('shows the first 5,000 rows of a 10,000-row page at once, then the whole page', async () => {
    const asked: string[] = []
    const answer = (n: number) => ({
      items: Array.from({ length: n }, (_, i) => ({ name: `r${i}` })),
      pagination: { page: 1, pageSize: n, totalItems: 12000, totalPages: Math.ceil(12000 / n) },
      filters: { resourceTypes: [], regions: [], accounts: [] },
    })
    const seen: number[] = []
    const off = useInventory.subscribe((state) => seen.push(state.resources.length))
    vi.stubGlobal(
      'fetch',
      vi.fn(async (path: string) => {
        asked.push(path)
        return new Response(JSON.stringify(answer(Number(new URLSearchParams(path.split('?')[1]).get('pageSize')))), {
          status: 200,
        })
      }),
    )
    await useInventory.getState().fetchResources({ search: '', pageSize: 10000, page: 1 })
    off()
    const params = asked.map((p) => new URLSearchParams(p.split('?')[1]))
    expect(params.map((p) => [p.get('page'), p.get('pageSize')])).toEqual([
      ['1', '5000'],
      ['1', '10000'],
    ])
    expect(seen).toContain(5000) // the preview was shown before the whole page
    const state = useInventory.getState()
    expect(state.resources).toHaveLength(10000)
    expect(state.pagination).toEqual({ page: 1, pageSize: 10000, totalItems: 12000, totalPages: 2 })
    expect(state.isLoading).toBe(false)
  })
})
