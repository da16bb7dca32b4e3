/**
 * A child for state-store-kill.test.ts: commits checkpoint after checkpoint to an LMDB state
 * store until it is killed. Commit k sets every one of its keys to k and its offset to k, and
 * deletes the odd keys on odd commits, so a restore that mixes two commits shows.
 */
import { createLmdbStateStore } from '../../processors/state/lmdb-store.ts'

const [path, firstArgument] = process.argv.slice(2)
const KEYS = 2_000
const store = createLmdbStateStore({ path: path! })
const partition = store.partition('clickstream', 0)
const start = partition.checkpoint()?.nextOffset ?? Number(firstArgument ?? 0)
const value = (commit: number) => new TextEncoder().encode(`${commit}`.padEnd(64, '.'))

for (let commit = start + 1; ; commit++) {
  const entries = new Map<string, Uint8Array | null>()
  for (let key = 0; key < KEYS; key++) entries.set(`dedup/${String(key).padStart(5, '0')}`, commit % 2 === 1 && key % 2 === 1 ? null : value(commit))
  // Two commits in flight at once, as a checkpoint taken while the last one is still being written.
  void partition.commit({ nextOffset: commit, savedAt: commit, whole: value(commit), entries })
  if (commit % 2 === 0) {
    await partition.commit({ nextOffset: commit, savedAt: commit, whole: value(commit), entries: new Map() })
    process.stdout.write(`committed ${commit}\n`)
  }
}
