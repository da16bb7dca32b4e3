import { generateTraffic, type GeneratedEvent } from '../../traffic/generator.ts'

/**
 * One chunk of the soak's traffic: `rate × chunkSeconds` events from the traffic model, seeded by
 * the chunk's index so the sender and the counting side generate the same events. Each chunk has
 * visitors of its own: with one pool for every chunk each visitor came back every 30 seconds, so no
 * session ever ended and the state a day of real traffic builds (sessions open for their gap, paths,
 * distinct visitors) never grew.
 */
export function soakChunk(options: { readonly index: number; readonly rate: number; readonly chunkSeconds: number; readonly startMs: number }): GeneratedEvent[] {
  const { index, rate, chunkSeconds, startMs } = options
  return generateTraffic({ seed: 21 + index, events: rate * chunkSeconds, startMs: startMs + index * chunkSeconds * 1_000, spanMs: chunkSeconds * 1_000, visitorPrefix: `anon-${index}-` })
}
