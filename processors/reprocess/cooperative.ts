/**
 * Gives the event loop back every `quantumMs` of work. A reprocess runs in the process that also
 * serves live traffic, and a result ClickHouse (chDB) has already buffered is iterated on
 * promises alone, which never let timers or I/O run: without this a slice of a million events
 * held the live processors and ingest's acknowledgements for seconds.
 */
export function cooperative(quantumMs = 10): () => Promise<void> | undefined {
  let since = performance.now()
  let calls = 0
  return () => {
    // performance.now() is cheap but not free: looked at every 64th call.
    if ((++calls & 63) !== 0) return undefined
    if (performance.now() - since < quantumMs) return undefined
    return new Promise<void>((resolve) => {
      setImmediate(() => {
        since = performance.now()
        resolve()
      })
    })
  }
}
