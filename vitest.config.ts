import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // chDB is one engine per process, and several suites start child processes:
    // forks keep each test file in its own process so they never share an engine.
    pool: 'forks',
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', 'data/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
