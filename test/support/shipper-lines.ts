/**
 * Log lines as a shipper sends them (JSON, one per line): every fifth a refused connection, a
 * level cycle with warnings and errors, two hosts and regions. `traced` adds a logger and a trace
 * id to every fourth, for suites that search those fields too.
 */
export function shipperLogLines(service: string, count: number, startMs: number, options: { traced?: boolean } = {}): string[] {
  const levels = ['info', 'info', 'warn', 'error']
  return Array.from({ length: count }, (_, index) => JSON.stringify({
    service,
    host: index % 3 === 0 ? 'web-1' : 'web-2',
    level: levels[index % levels.length],
    message: index % 5 === 0 ? `Connection refused to db-${index % 7}:5432 (attempt ${index})` : `GET /orders/${index} 200`,
    ts: new Date(startMs + index * 1_000).toISOString(),
    ...(options.traced && index % 4 === 0 ? { logger: 'app.http', trace_id: `trace${index}` } : {}),
    attributes: { region: index % 2 ? 'eu' : 'us' },
  }))
}
