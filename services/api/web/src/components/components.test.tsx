import { act, cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import type { Resource } from '../types'
import { InventoryGrid } from './InventoryGrid'
import { MultiSelect } from './MultiSelect'
import { StatusBadge } from './StatusBadge'
import { SearchBox, SEARCH_DEBOUNCE_MS } from './Toolbar'

afterEach(() => {
  cleanup()
  vi.useRealTimers()
  localStorage.clear()
})

function resources(n: number): Resource[] {
  return Array.from({ length: n }, (_, i) => ({
    resourceId: `i-${i}`,
    resourceArn: `arn:aws:ec2:us-east-1:111111111111:instance/i-${i}`,
    resourceType: 'ec2',
    name: `web-${String(i).padStart(6, '0')}`,
    region: 'us-east-1',
    accountId: '111111111111',
    accountName: 'Production',
    state: 'running',
    tags: { team: 'a' },
    lastDiscoveredAt: '2026-11-30T02:00:00.000000Z',
    discoveryStatus: i % 2 ? 'missing' : 'active',
  }))
}

describe('SearchBox', () => {
  it('searches 300 ms after the last keystroke, once', () => {
    vi.useFakeTimers()
    const onSearch = vi.fn()
    render(<SearchBox value="" onSearch={onSearch} />)
    const box = screen.getByLabelText('Search resources')
    fireEvent.change(box, { target: { value: 'we' } })
    act(() => void vi.advanceTimersByTime(200))
    fireEvent.change(box, { target: { value: 'web' } })
    act(() => void vi.advanceTimersByTime(SEARCH_DEBOUNCE_MS - 1))
    expect(onSearch).not.toHaveBeenCalled()
    act(() => void vi.advanceTimersByTime(1))
    expect(onSearch).toHaveBeenCalledTimes(1)
    expect(onSearch).toHaveBeenCalledWith('web')
  })
})

describe('MultiSelect', () => {
  it('adds and removes values and clears them', () => {
    const onChange = vi.fn()
    const { rerender } = render(
      <MultiSelect label="Type" options={[{ value: 's3', label: 's3' }, { value: 'ec2', label: 'ec2' }]} selected={[]} onChange={onChange} />,
    )
    fireEvent.click(screen.getByLabelText('ec2'))
    expect(onChange).toHaveBeenLastCalledWith(['ec2'])
    rerender(
      <MultiSelect label="Type" options={[{ value: 's3', label: 's3' }, { value: 'ec2', label: 'ec2' }]} selected={['ec2']} onChange={onChange} />,
    )
    expect(screen.getByText('1')).toBeTruthy() // the count on the button
    fireEvent.click(screen.getByLabelText('s3'))
    expect(onChange).toHaveBeenLastCalledWith(['ec2', 's3'])
    fireEvent.click(screen.getByLabelText('ec2'))
    expect(onChange).toHaveBeenLastCalledWith([])
    fireEvent.click(screen.getByText('Clear'))
    expect(onChange).toHaveBeenLastCalledWith([])
  })
})

describe('StatusBadge', () => {
  it('colours by status', () => {
    render(<StatusBadge status="missing" />)
    expect(screen.getByText('missing').className).toContain('badge-missing')
  })
})

describe('InventoryGrid', () => {
  beforeEach(() => {
    // jsdom has no layout: give the scroll container a 600 px viewport
    vi.spyOn(Element.prototype, 'clientHeight', 'get').mockReturnValue(600)
    vi.spyOn(Element.prototype, 'clientWidth', 'get').mockReturnValue(1200)
  })
  afterEach(() => vi.restoreAllMocks())

  it('renders a bounded number of row elements for 10,000 rows', () => {
    render(<InventoryGrid rows={resources(10_000)} sortBy="name" sortOrder="asc" onSort={() => {}} onOpen={() => {}} />)
    const rows = document.querySelectorAll('[role=row][data-index]')
    expect(rows.length).toBeGreaterThan(0)
    expect(rows.length).toBeLessThan(60)
    expect(screen.getByRole('grid').getAttribute('aria-rowcount')).toBe('10001')
  })

  it('sorts through the server: a header click names the field, aria-sort shows the order', () => {
    const onSort = vi.fn()
    render(<InventoryGrid rows={resources(3)} sortBy="name" sortOrder="desc" onSort={onSort} onOpen={() => {}} />)
    expect(document.querySelector('[data-column=name]')!.getAttribute('aria-sort')).toBe('descending')
    fireEvent.click(screen.getByRole('button', { name: /Region/ }))
    expect(onSort).toHaveBeenCalledWith('region')
  })

  it('opens a row on click and on Enter', () => {
    const onOpen = vi.fn()
    render(<InventoryGrid rows={resources(5)} sortBy="name" sortOrder="asc" onSort={() => {}} onOpen={onOpen} />)
    const first = document.querySelector<HTMLElement>('[role=row][data-index="0"]')!
    fireEvent.click(first)
    expect(onOpen).toHaveBeenLastCalledWith(expect.objectContaining({ name: 'web-000000' }))
    fireEvent.keyDown(first, { key: 'Enter' })
    expect(onOpen).toHaveBeenCalledTimes(2)
  })

  it('remembers hidden columns in this browser', () => {
    const { unmount } = render(
      <InventoryGrid rows={resources(2)} sortBy="name" sortOrder="asc" onSort={() => {}} onOpen={() => {}} />,
    )
    fireEvent.click(screen.getByRole('checkbox', { name: 'Region' }))
    expect(document.querySelector('[data-column=region]')).toBeNull()
    unmount()
    render(<InventoryGrid rows={resources(2)} sortBy="name" sortOrder="asc" onSort={() => {}} onOpen={() => {}} />)
    expect(document.querySelector('[data-column=region]')).toBeNull()
    expect(JSON.parse(localStorage.getItem('inventory.grid.v1')!).visibility.region).toBe(false)
  })
})
