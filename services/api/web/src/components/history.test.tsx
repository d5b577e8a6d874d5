import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'

import { StatusHistory } from './DetailDrawer'

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

const ARN = 'arn:aws:ec2:us-east-1:111111111111:instance/i-1'
const entry = (n: number, state: string) => ({
  executionId: `exec-${n}`,
  discoveredAt: `2026-11-2${n}T02:00:00.000000Z`,
  state,
  name: 'web',
  region: 'us-east-1',
  resourceType: 'ec2',
})
const reply = (body: unknown) => new Response(JSON.stringify(body), { status: 200 })

describe('StatusHistory', () => {
  it('shows the lake history newest first and loads older entries with the token', async () => {
    const fetch = vi
      .fn()
      .mockResolvedValueOnce(reply({ resourceArn: ARN, available: true, items: [entry(3, 'running'), entry(2, 'stopped')], nextToken: 'T1' }))
      .mockResolvedValueOnce(reply({ resourceArn: ARN, available: true, items: [entry(1, 'running')], nextToken: null }))
    vi.stubGlobal('fetch', fetch)
    render(<StatusHistory arn={ARN} />)
    expect(await screen.findByText('stopped')).toBeTruthy()
    expect(String(fetch.mock.calls[0][0])).toBe(`/api/inventory/resource-history/${encodeURIComponent(ARN)}?limit=20`)
    fireEvent.click(screen.getByRole('button', { name: 'Load older' }))
    expect(await screen.findByText('exec-1')).toBeTruthy()
    expect(String(fetch.mock.calls[1][0])).toContain('nextToken=T1')
    expect(screen.getAllByRole('row')).toHaveLength(4) // header + 3 scans
    expect(screen.queryByRole('button', { name: 'Load older' })).toBeNull()
  })

  it('says when the lake has no history, and shows an error without losing what it had', async () => {
    vi.stubGlobal('fetch', vi.fn().mockResolvedValue(reply({ resourceArn: ARN, available: false, items: [], nextToken: null })))
    render(<StatusHistory arn={ARN} />)
    expect(await screen.findByText('No lake history is available here.')).toBeTruthy()
    cleanup()
    vi.stubGlobal('fetch', vi.fn().mockResolvedValue(new Response(JSON.stringify({ error: 'unavailable', message: 'the lake could not be read', requestId: 'r' }), { status: 503 })))
    render(<StatusHistory arn={ARN} />)
    expect(await screen.findByText(/the lake could not be read/)).toBeTruthy()
  })
})
