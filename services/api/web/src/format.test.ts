import { afterEach, describe, expect, it, vi } from 'vitest'

import { exactTime, relativeTime } from './format'

afterEach(() => vi.restoreAllMocks())

describe('time formatting', () => {
  it('reuses one exact-time formatter per time zone (the grid formats a time per row per scroll frame)', () => {
    exactTime('2026-11-30T02:00:00Z', 'UTC') // the formatter for UTC exists from here on
    const Real = Intl.DateTimeFormat
    const built = vi.fn()
    vi.spyOn(Intl, 'DateTimeFormat').mockImplementation(function (...args: ConstructorParameters<typeof Real>) {
      built()
      return new Real(...args)
    } as unknown as typeof Real)
    const texts = Array.from({ length: 200 }, (_, i) => exactTime(`2026-11-30T02:${String(i % 60).padStart(2, '0')}:00Z`, 'UTC'))
    expect(built).not.toHaveBeenCalled()
    expect(texts[5]).toContain('2:05:00')
    expect(exactTime('2026-11-30T02:00:00Z', 'Asia/Tokyo')).toContain('11:00:00')
    expect(built).toHaveBeenCalledTimes(1) // a new zone: one more formatter
  })

  it('says how long ago, and keeps what it cannot parse', () => {
    const now = Date.parse('2026-11-30T12:00:00Z')
    expect(relativeTime('2026-11-30T11:55:00Z', now)).toBe('5 minutes ago')
    expect(relativeTime('not a time', now)).toBe('not a time')
    expect(relativeTime(null, now)).toBe('never')
  })
})
