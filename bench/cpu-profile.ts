import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'

/**
 * A V8 CPU profile of one stretch of a benchmark (not of its set-up, which `node --cpu-prof` would
 * mix in). Open the file in Chrome DevTools or speedscope.
 */
export async function startCpuProfile(): Promise<{ stop(path: string): Promise<void> }> {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 500 })
  await session.post('Profiler.start')
  return {
    async stop(path) {
      const { profile } = await session.post('Profiler.stop')
      writeFileSync(path, JSON.stringify(profile))
      session.disconnect()
    },
  }
}
