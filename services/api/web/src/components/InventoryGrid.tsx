import {
  flexRender,
  getCoreRowModel,
  useReactTable,
  type ColumnDef,
  type ColumnSizingState,
  type VisibilityState,
} from '@tanstack/react-table'
import { useVirtualizer } from '@tanstack/react-virtual'
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react'

import type { SortField } from '../query'
import type { Resource } from '../types'
import { StatusBadge } from './StatusBadge'
import { Time } from './Time'

export const ROW_HEIGHT = 36
const PREFS_KEY = 'inventory.grid.v1'

export const COLUMNS: ColumnDef<Resource>[] = [
  { id: 'name', accessorKey: 'name', header: 'Name', size: 240, meta: { sort: 'name' } },
  { id: 'resourceType', accessorKey: 'resourceType', header: 'Type', size: 110, meta: { sort: 'resourceType' } },
  {
    id: 'accountId',
    accessorKey: 'accountId',
    header: 'Account',
    size: 220,
    meta: { sort: 'accountId' },
    cell: ({ row }) => (
      <span title={row.original.accountId}>
        {row.original.accountName || row.original.accountId}
        <span className="muted"> {row.original.accountId}</span>
      </span>
    ),
  },
  { id: 'region', accessorKey: 'region', header: 'Region', size: 120, meta: { sort: 'region' } },
  { id: 'state', accessorKey: 'state', header: 'State', size: 110, meta: { sort: 'state' } },
  {
    id: 'discoveryStatus',
    accessorKey: 'discoveryStatus',
    header: 'Status',
    size: 100,
    meta: { sort: 'discoveryStatus' },
    cell: ({ getValue }) => <StatusBadge status={getValue<string>()} />,
  },
  {
    id: 'lastDiscoveredAt',
    accessorKey: 'lastDiscoveredAt',
    header: 'Last seen',
    size: 130,
    meta: { sort: 'lastDiscoveredAt' },
    cell: ({ getValue }) => <Time iso={getValue<string>()} />,
  },
  { id: 'resourceId', accessorKey: 'resourceId', header: 'Resource ID', size: 200 },
  {
    id: 'tags',
    accessorFn: (r) =>
      Object.entries(r.tags)
        .map(([k, v]) => `${k}=${v}`)
        .join(', '),
    header: 'Tags',
    size: 240,
  },
]

interface Prefs {
  visibility: VisibilityState
  sizing: ColumnSizingState
}

function loadPrefs(): Prefs {
  try {
    const saved = JSON.parse(localStorage.getItem(PREFS_KEY) ?? '{}') as Partial<Prefs>
    return { visibility: saved.visibility ?? { resourceId: false }, sizing: saved.sizing ?? {} }
  } catch {
    return { visibility: { resourceId: false }, sizing: {} }
  }
}

export function InventoryGrid({
  rows,
  sortBy,
  sortOrder,
  onSort,
  onOpen,
  height,
}: {
  rows: Resource[]
  sortBy: SortField
  sortOrder: 'asc' | 'desc'
  onSort: (field: SortField) => void
  onOpen: (resource: Resource) => void
  height?: number | string
}) {
  const initial = useMemo(loadPrefs, [])
  const [visibility, setVisibility] = useState<VisibilityState>(initial.visibility)
  const [sizing, setSizing] = useState<ColumnSizingState>(initial.sizing)
  useEffect(() => {
    localStorage.setItem(PREFS_KEY, JSON.stringify({ visibility, sizing }))
  }, [visibility, sizing])

  const table = useReactTable({
    data: rows,
    columns: COLUMNS,
    state: { columnVisibility: visibility, columnSizing: sizing },
    onColumnVisibilityChange: setVisibility,
    onColumnSizingChange: setSizing,
    columnResizeMode: 'onChange',
    manualSorting: true,
    getCoreRowModel: getCoreRowModel(),
    getRowId: (row) => row.resourceArn,
  })
  const tableRows = table.getRowModel().rows
  const scrollRef = useRef<HTMLDivElement>(null)
  const virtualizer = useVirtualizer({
    count: tableRows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    initialRect: { width: 1200, height: 600 }, // until the first measurement (and where there is no layout)
  })
  const [focused, setFocused] = useState(0)
  const focusPending = useRef(false)
  useEffect(() => setFocused(0), [rows])
  useEffect(() => {
    if (!focusPending.current) return
    // the row may render only after the virtualiser has scrolled to it: try again on the next render
    const row = scrollRef.current?.querySelector<HTMLElement>(`[data-index="${focused}"]`)
    if (row) {
      focusPending.current = false
      row.focus()
    }
  })

  const move = (index: number) => {
    const next = Math.max(0, Math.min(tableRows.length - 1, index))
    virtualizer.scrollToIndex(next, { align: 'auto' })
    focusPending.current = true
    setFocused(next)
  }
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (!(event.target as HTMLElement).matches('[role="row"][data-index]')) return
    const page = Math.max(1, Math.floor((scrollRef.current?.clientHeight ?? 400) / ROW_HEIGHT) - 1)
    const keys: Record<string, () => void> = {
      ArrowDown: () => move(focused + 1),
      ArrowUp: () => move(focused - 1),
      PageDown: () => move(focused + page),
      PageUp: () => move(focused - page),
      Home: () => move(0),
      End: () => move(tableRows.length - 1),
      Enter: () => tableRows[focused] && onOpen(tableRows[focused].original),
      ' ': () => tableRows[focused] && onOpen(tableRows[focused].original),
    }
    const action = keys[event.key]
    if (action) {
      event.preventDefault()
      action()
    }
  }

  const width = table.getTotalSize()
  return (
    <div className="grid-wrap">
      <details className="multiselect columns-menu">
        <summary>Columns</summary>
        <div className="menu" role="group" aria-label="Visible columns">
          {table.getAllLeafColumns().map((column) => (
            <label key={column.id}>
              <input type="checkbox" checked={column.getIsVisible()} onChange={column.getToggleVisibilityHandler()} />
              {String(column.columnDef.header)}
            </label>
          ))}
        </div>
      </details>
      <div
        ref={scrollRef}
        className="grid-scroll"
        role="grid"
        aria-label="Resources"
        aria-rowcount={tableRows.length + 1}
        style={{ height }}
        onKeyDown={onKeyDown}
        data-testid="grid"
      >
        <div className="grid-header" role="row" aria-rowindex={1} style={{ width }}>
          {table.getHeaderGroups()[0].headers.map((header) => {
            const sortField = (header.column.columnDef.meta as { sort?: SortField } | undefined)?.sort
            const active = sortField === sortBy
            return (
              <div
                key={header.id}
                role="columnheader"
                className="grid-cell header-cell"
                style={{ width: header.getSize() }}
                aria-sort={active ? (sortOrder === 'asc' ? 'ascending' : 'descending') : undefined}
                data-column={header.column.id}
              >
                {sortField ? (
                  <button type="button" className="sort" onClick={() => onSort(sortField)}>
                    {flexRender(header.column.columnDef.header, header.getContext())}
                    <span aria-hidden="true" className="sort-mark">
                      {active ? (sortOrder === 'asc' ? '▲' : '▼') : ''}
                    </span>
                  </button>
                ) : (
                  <span className="plain-header">{flexRender(header.column.columnDef.header, header.getContext())}</span>
                )}
                <div
                  className={`resizer${header.column.getIsResizing() ? ' resizing' : ''}`}
                  onMouseDown={header.getResizeHandler()}
                  onTouchStart={header.getResizeHandler()}
                  onDoubleClick={() => header.column.resetSize()}
                  role="separator"
                  aria-orientation="vertical"
                  aria-label={`Resize ${String(header.column.columnDef.header)}`}
                />
              </div>
            )
          })}
        </div>
        <div className="grid-body" style={{ height: virtualizer.getTotalSize(), width }}>
          {virtualizer.getVirtualItems().map((item) => {
            const row = tableRows[item.index]
            return (
              <div
                key={row.id}
                role="row"
                data-index={item.index}
                aria-rowindex={item.index + 2}
                tabIndex={item.index === focused ? 0 : -1}
                className={`grid-row${item.index % 2 ? ' odd' : ''}`}
                style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT, width }}
                onClick={() => {
                  setFocused(item.index)
                  onOpen(row.original)
                }}
                onFocus={() => setFocused(item.index)}
              >
                {row.getVisibleCells().map((cell) => (
                  <div key={cell.id} role="gridcell" className="grid-cell" style={{ width: cell.column.getSize() }}>
                    {flexRender(cell.column.columnDef.cell, cell.getContext())}
                  </div>
                ))}
              </div>
            )
          })}
        </div>
      </div>
    </div>
  )
}
