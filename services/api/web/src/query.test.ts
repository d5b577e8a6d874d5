import { describe, expect, it } from 'vitest'

import { DEFAULT_QUERY, exportFilters, parseQuery, queryToSearch, resourcesPath } from './query'

describe('grid query in the URL', () => {
  it('round-trips filters, search, sort and page', () => {
    const query = {
      ...DEFAULT_QUERY,
      accountId: ['111111111111', '222222222222'],
      resourceType: ['s3'],
      status: ['missing'],
      search: 'web 1',
      sortBy: 'lastDiscoveredAt' as const,
      sortOrder: 'desc' as const,
      page: 3,
      pageSize: 500,
    }
    const search = queryToSearch(query)
    expect(search).toBe(
      '?accountId=111111111111%2C222222222222&resourceType=s3&status=missing&search=web+1&sortBy=lastDiscoveredAt&sortOrder=desc&page=3&pageSize=500',
    )
    expect(parseQuery(search)).toEqual(query)
  })

  it('leaves the defaults out of the URL', () => {
    expect(queryToSearch(DEFAULT_QUERY)).toBe('')
  })

  it('falls back to the defaults for values it does not know', () => {
    const q = parseQuery('?sortBy=ttl&sortOrder=up&page=-2&pageSize=abc')
    expect(q.sortBy).toBe('name')
    expect(q.sortOrder).toBe('asc')
    expect(q.page).toBe(1)
    expect(q.pageSize).toBe(DEFAULT_QUERY.pageSize)
    expect(parseQuery('?pageSize=9999999').pageSize).toBe(100000)
  })

  it('asks the API for exactly the query, and exports the same filters', () => {
    const q = { ...DEFAULT_QUERY, region: ['eu-west-1'], search: '  db ' }
    expect(resourcesPath(q)).toBe(
      '/api/inventory/resources?region=eu-west-1&search=db&page=1&pageSize=100&sortBy=name&sortOrder=asc',
    )
    expect(exportFilters(q)).toEqual({ region: ['eu-west-1'], search: 'db' })
  })
})
