import { createHmac, randomBytes } from 'node:crypto'

const DAY_MS = 86_400_000

/**
 * Cookieless visitors: a hash of (daily salt, project, site, client IP, user agent), so unique
 * visitors can be counted without anything stored in the browser. The salt changes every UTC day
 * and is never written next to the data, so a hash cannot be linked to another day's hash, nor
 * (once the day's salt is gone) turned back into an IP address by trying them all.
 *
 * Where the salt comes from decides which instances agree on it:
 * - with a secret (EDDY_VISITOR_SECRET), salt = HMAC(secret, day): every ingest instance derives
 *   the same salt, with nothing shared at run time. The salts of past days can be recomputed by
 *   whoever holds the secret; rotating the secret forgets them.
 * - without one, the salt is random per process and per day, kept in memory only: the strongest
 *   privacy, but two ingest instances (or one restarted during the day) hash the same visitor
 *   differently, so that day's unique visitors are overcounted.
 */
export class VisitorHasher {
  private day = Number.NaN
  private salt: Buffer = Buffer.alloc(0)

  constructor(private readonly secret?: string) {}

  /** The visitor hash at `time` (ms): 22 base64url characters (128 bits). */
  hash(time: number, projectId: string, site: string, address: string, userAgent: string): string {
    const day = Math.floor(time / DAY_MS)
    if (day !== this.day) {
      // Only today's salt is kept; yesterday's is dropped the moment the day changes.
      this.day = day
      this.salt = this.secret ? createHmac('sha256', this.secret).update(`eddy visitor salt ${day}`).digest() : randomBytes(32)
    }
    return createHmac('sha256', this.salt).update(`${projectId}\u0000${site}\u0000${address}\u0000${userAgent}`).digest('base64url').slice(0, 22)
  }
}

const shared = new Map<string, VisitorHasher>()

/**
 * One hasher per secret and process, so every route of one process (the collect routes and their
 * first-party aliases) agrees on the day's random salt without being handed the same instance.
 */
export function visitorHasher(secret = ''): VisitorHasher {
  let hasher = shared.get(secret)
  if (!hasher) shared.set(secret, (hasher = new VisitorHasher(secret || undefined)))
  return hasher
}
