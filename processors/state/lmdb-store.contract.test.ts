import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLmdbStateStore } from './lmdb-store.ts'
import { stateStoreContract } from './store-contract.ts'
import type { StateStore } from './store.ts'

stateStoreContract('lmdb', async () => {
  const path = mkdtempSync(join(tmpdir(), 'eddy-state-'))
  let store: StateStore = createLmdbStateStore({ path })
  return {
    store,
    async reopen() {
      await store.close()
      store = createLmdbStateStore({ path })
      return store
    },
    async cleanup() {
      await store.close()
      rmSync(path, { recursive: true, force: true })
    },
  }
}, { durable: true })
