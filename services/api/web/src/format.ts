// Times and numbers for people: relative ("5 min ago") with the exact local time on hover.

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 86400],
  ['month', 30 * 86400],
  ['day', 86400],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
]
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })

export function relativeTime(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return 'never'
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return iso
  const seconds = Math.round((t - now) / 1000)
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === 'second') {
      if (unit === 'second' && Math.abs(seconds) < 45) return 'just now'
      return relative.format(Math.round(seconds / size), unit)
    }
  }
  return iso
}

// Building an Intl.DateTimeFormat costs about a millisecond: one per time zone, reused (the grid formats a
// time per visible row on every scroll frame; a new formatter per cell was most of a frame at 100,000 rows).
const exactFormats = new Map<string, Intl.DateTimeFormat>()

export function exactTime(iso: string | null | undefined, timeZone?: string): string {
  if (!iso) return ''
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return iso
  let format = exactFormats.get(timeZone ?? '')
  if (!format) {
    format = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'long', timeZone })
    exactFormats.set(timeZone ?? '', format)
  }
  return format.format(t)
}

export function count(n: number | null | undefined): string {
  return n === null || n === undefined ? '–' : new Intl.NumberFormat().format(n)
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–'
  if (ms < 1000) return `${ms} ms`
  const s = ms / 1000
  return s < 120 ? `${s.toFixed(1)} s` : `${Math.round(s / 60)} min`
}
