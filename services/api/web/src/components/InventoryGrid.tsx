import {
  flexRender,
  getCoreRowModel,
  useReactTable,
  type Column,
  type ColumnDef,
  type ColumnSizingState,
  type Header,
  type Row,
  type VisibilityState,
} from '@tanstack/react-table'
import { useVirtualizer } from '@tanstack/react-virtual'
import { memo, useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react'

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

// Scrolling re-renders the grid once per frame with a new window of rows. What keeps a frame cheap at
// 100,000 rows: the table model is built once per page of data (getCoreRowModel is memoised on `rows`),
// each row is a memoised component that re-renders only when its position, focus or the column layout
// changes, the header and the Columns menu are memoised apart from the rows, and formatters are reused.

const GridRow = memo(function GridRow({
  row,
  index,
  start,
  width,
  widths,
  focused,
  onActivate,
}: {
  row: Row<Resource>
  index: number
  start: number
  width: number
  widths: readonly number[] // the visible columns' sizes: a new array only when the layout changes
  focused: boolean
  onActivate: (index: number, open: boolean) => void
}) {
  return (
    <div
      role="row"
      data-index={index}
      aria-rowindex={index + 2}
      tabIndex={focused ? 0 : -1}
      className={`grid-row${index % 2 ? ' odd' : ''}`}
      style={{ transform: `translateY(${start}px)`, height: ROW_HEIGHT, width }}
      onClick={() => onActivate(index, true)}
      onFocus={() => onActivate(index, false)}
    >
      {row.getVisibleCells().map((cell, i) => (
        <div key={cell.id} role="gridcell" className="grid-cell" style={{ width: widths[i] }}>
          {flexRender(cell.column.columnDef.cell, cell.getContext())}
        </div>
      ))}
    </div>
  )
})

const GridHeader = memo(function GridHeader({
  headers,
  widths,
  width,
  sortBy,
  sortOrder,
  onSort,
}: {
  headers: Header<Resource, unknown>[]
  widths: readonly number[]
  width: number
  sortBy: SortField
  sortOrder: 'asc' | 'desc'
  onSort: (field: SortField) => void
}) {
  return (
    <div className="grid-header" role="row" aria-rowindex={1} style={{ width }}>
      {headers.map((header, i) => {
        const sortField = (header.column.columnDef.meta as { sort?: SortField } | undefined)?.sort
        const active = sortField === sortBy
        return (
          <div
            key={header.id}
            role="columnheader"
            className="grid-cell header-cell"
            style={{ width: widths[i] }}
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
  )
})

const ColumnsMenu = memo(function ColumnsMenu({
  columns,
}: {
  columns: Column<Resource, unknown>[]
  visibility: VisibilityState // re-render when it changes (the checkboxes read it through the columns)
}) {
  return (
    <details className="multiselect columns-menu">
      <summary>Columns</summary>
      <div className="menu" role="group" aria-label="Visible columns">
        {columns.map((column) => (
          <label key={column.id}>
            <input type="checkbox" checked={column.getIsVisible()} onChange={column.getToggleVisibilityHandler()} />
            {String(column.columnDef.header)}
          </label>
        ))}
      </div>
    </details>
  )
})

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
    getRowId,
  })
  const tableRows = table.getRowModel().rows
  const headers = table.getHeaderGroups()[0].headers
  const widths = useMemo(() => headers.map((h) => h.getSize()), [headers, sizing])
  const width = useMemo(() => widths.reduce((a, b) => a + b, 0), [widths])
  const scrollRef = useRef<HTMLDivElement>(null)
  const virtualizer = useVirtualizer({
    count: tableRows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 6, // rows rendered beyond each edge: fewer to create per frame than 12, same look
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

  // one stable callback for every row (a new one per render would defeat the rows' memo)
  const latest = useRef({ tableRows, onOpen })
  latest.current = { tableRows, onOpen }
  const onActivate = useCallback((index: number, open: boolean) => {
    setFocused(index)
    const row = latest.current.tableRows[index]
    if (open && row) latest.current.onOpen(row.original)
  }, [])

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

  // Keyed by ARN: a row that stays in view keeps its element and (memoised) is not rendered again. Keying by
  // slot instead (elements recycled, text patched) measured no better and re-rendered every row per frame.
  const items = virtualizer.getVirtualItems()
  return (
    <div className="grid-wrap">
      <ColumnsMenu columns={table.getAllLeafColumns()} visibility={visibility} />
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
        <GridHeader headers={headers} widths={widths} width={width} sortBy={sortBy} sortOrder={sortOrder} onSort={onSort} />
        <div className="grid-body" style={{ height: virtualizer.getTotalSize(), width }}>
          {items.map((item) => (
            <GridRow
              key={tableRows[item.index].id}
              row={tableRows[item.index]}
              index={item.index}
              start={item.start}
              width={width}
              widths={widths}
              focused={item.index === focused}
              onActivate={onActivate}
            />
          ))}
        </div>
      </div>
    </div>
  )
}

const getRowId = (row: Resource) => row.resourceArn
