/**
 * ClickHouse's error code, by shape rather than by class: the in-process engine (chDB) raises
 * its own copy of the client's ClickHouseError, which fails `instanceof`, and a failure
 * classified by class alone became "store unavailable" for a request's own mistake.
 */
export function clickHouseErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const { code, type } = error as { code?: unknown; type?: unknown }
  return typeof code === 'string' && /^\d+$/.test(code) && typeof type === 'string' ? code : undefined
}
