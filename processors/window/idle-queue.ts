/**
 * The session keys in the heap, each queued once with its chain's last event when queued: where a
 * checkpoint looks for chains gone quiet, from the front, rather than walking every chain in the
 * heap (O(cache) at each checkpoint, most of what writing the changes had cost the session
 * windows). A key is queued as its chain enters the heap; one taken from the front and busy since
 * is queued again behind the rest with its newer last event, so the front stays the quiet end.
 */
export class IdleQueue {
  private keys: string[] = []
  private lastEvents: number[] = []
  private front = 0

  push(key: string, lastEvent: number): void {
    this.keys.push(key)
    this.lastEvents.push(lastEvent)
  }

  /** Takes the next key from the front if its chain's last event, when queued, was before `before`. */
  takeQuietBefore(before: number): string | undefined {
    if (this.front === this.keys.length || this.lastEvents[this.front]! >= before) {
      this.compact()
      return undefined
    }
    return this.keys[this.front++]
  }

  clear(): void {
    this.keys = []
    this.lastEvents = []
    this.front = 0
  }

  private compact(): void {
    if (this.front <= 4_096 || this.front * 2 <= this.keys.length) return
    this.keys = this.keys.slice(this.front)
    this.lastEvents = this.lastEvents.slice(this.front)
    this.front = 0
  }
}
