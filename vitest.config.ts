import { defineConfig } from 'vitest/config'
import { EDDY_NODE_FLAGS } from './cli/node-flags.ts'

export default defineConfig({
  test: {
    // chDB is one engine per process, and several suites start child processes:
    // forks keep each test file in its own process so they never share an engine.
    pool: 'forks',
    // Suites that run Eddy inside the test process (the pipeline suites, the soak) run it as
    // every launcher starts it.
    execArgv: [...EDDY_NODE_FLAGS],
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', 'data/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests wait on conditions, never on sleeps; a poll returns as soon as its condition holds,
    // and gives a busy 2-core machine this long before it fails.
    expect: { poll: { timeout: 15_000 } },
  },
})
