import { useEffect, useRef } from 'react'

export interface Option {
  value: string
  label: string
}

/** A dropdown of checkboxes (native <details>, so it works with the keyboard and Escape closes it). */
export function MultiSelect({
  label,
  options,
  selected,
  onChange,
}: {
  label: string
  options: Option[]
  selected: string[]
  onChange: (values: string[]) => void
}) {
  const ref = useRef<HTMLDetailsElement>(null)
  useEffect(() => {
    const close = (event: MouseEvent) => {
      if (ref.current && !ref.current.contains(event.target as Node)) ref.current.open = false
    }
    document.addEventListener('mousedown', close)
    return () => document.removeEventListener('mousedown', close)
  }, [])
  const toggle = (value: string) =>
    onChange(selected.includes(value) ? selected.filter((v) => v !== value) : [...selected, value])
  return (
    <details
      ref={ref}
      className="multiselect"
      data-filter={label.toLowerCase()}
      onKeyDown={(event) => {
        if (event.key === 'Escape' && ref.current) {
          ref.current.open = false
          ref.current.querySelector('summary')?.focus()
        }
      }}
    >
      <summary aria-label={`${label} filter${selected.length ? `, ${selected.length} selected` : ''}`}>
        {label}
        {selected.length ? <span className="count">{selected.length}</span> : null}
      </summary>
      <div className="menu" role="group" aria-label={label}>
        {options.length === 0 && <p className="muted">No values</p>}
        {options.map((option) => (
          <label key={option.value}>
            <input type="checkbox" checked={selected.includes(option.value)} onChange={() => toggle(option.value)} />
            {option.label}
          </label>
        ))}
        {selected.length > 0 && (
          <button type="button" className="link" onClick={() => onChange([])}>
            Clear
          </button>
        )}
      </div>
    </details>
  )
}
