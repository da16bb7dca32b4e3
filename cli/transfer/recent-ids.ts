/**
 * The event ids seen most recently, to count (and not resend) duplicates within an import. Two
 * generations of at most `capacity` ids each: when the newer is full it becomes the older and the
 * oldest is forgotten, so memory stays bounded on files of any size. A repeat further back than
 * that is not counted here, and is still stored once: the pipeline deduplicates by event_id.
 * 100,000 a generation holds the last 100,000 to 200,000 ids in about 20 MB; more would only
 * count duplicates further apart, at some 100 bytes an id.
 */
export class RecentIds {
  private newer = new Set<string>()
  private older = new Set<string>()

  constructor(private readonly capacity = 100_000) {}

  /** True when the id was seen before (and is remembered); otherwise remembers it. */
  seen(id: string): boolean {
    if (this.newer.has(id) || this.older.has(id)) return true
    if (this.newer.size >= this.capacity) {
      this.older = this.newer
      this.newer = new Set()
    }
    this.newer.add(id)
    return false
  }
}
