// jsdom has no layout and no ResizeObserver: a no-op one lets the virtualiser run on its initial rect.
class NoopResizeObserver {
  observe(): void {}
  unobserve(): void {}
  disconnect(): void {}
}
globalThis.ResizeObserver ??= NoopResizeObserver as unknown as typeof ResizeObserver
