import { createHeapStateStore } from './heap-store.ts'
import { stateStoreContract } from './store-contract.ts'

stateStoreContract('heap', async () => {
  const store = createHeapStateStore()
  return { store, cleanup: () => store.close() }
}, { durable: false })
