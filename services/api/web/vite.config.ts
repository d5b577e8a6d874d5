import react from '@vitejs/plugin-react'
import { defineConfig } from 'vitest/config'

// The API serves dist/ at / (same origin); `npm run dev` proxies /api to a local `inventory api serve`.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 600 },
  server: { proxy: { '/api': 'http://127.0.0.1:8000' } },
  // 30 s per test: the machine runs other suites at once (a 10,000-row render took over 5 s under load 20)
  test: { environment: 'jsdom', include: ['src/**/*.test.{ts,tsx}'], setupFiles: ['src/test-setup.ts'], testTimeout: 30_000 },
})
