/**
 * Binary min-heap on a numeric priority. Used for session timers; ties are not ordered here
 * because callers sort everything that becomes due at once before emitting.
 */
export class MinHeap<Item> {
  private readonly priorities: number[] = []
  private readonly items: Item[] = []

  get size(): number {
    return this.items.length
  }

  peekPriority(): number {
    return this.priorities.length === 0 ? Infinity : (this.priorities[0] as number)
  }

  push(priority: number, item: Item): void {
    let index = this.items.length
    this.priorities.push(priority)
    this.items.push(item)
    while (index > 0) {
      const parent = (index - 1) >> 1
      if ((this.priorities[parent] as number) <= priority) break
      this.priorities[index] = this.priorities[parent] as number
      this.items[index] = this.items[parent] as Item
      index = parent
    }
    this.priorities[index] = priority
    this.items[index] = item
  }

  pop(): Item | undefined {
    const count = this.items.length
    if (count === 0) return undefined
    const top = this.items[0]
    const lastPriority = this.priorities.pop() as number
    const lastItem = this.items.pop() as Item
    if (count > 1) {
      this.priorities[0] = lastPriority
      this.items[0] = lastItem
      this.siftDown(0)
    }
    return top
  }

  /** Keeps only the items `keep` accepts, in O(size): for dropping many stale entries at once rather than as they come up. */
  retain(keep: (item: Item) => boolean): void {
    let kept = 0
    for (let index = 0; index < this.items.length; index++) {
      const item = this.items[index] as Item
      if (!keep(item)) continue
      this.priorities[kept] = this.priorities[index] as number
      this.items[kept] = item
      kept++
    }
    this.priorities.length = kept
    this.items.length = kept
    // Floyd's heap construction: sift every parent down, last first.
    for (let index = (kept >> 1) - 1; index >= 0; index--) this.siftDown(index)
  }

  private siftDown(start: number): void {
    const size = this.items.length
    const priority = this.priorities[start] as number
    const item = this.items[start] as Item
    let index = start
    for (;;) {
      const left = index * 2 + 1
      if (left >= size) break
      const right = left + 1
      const child = right < size && (this.priorities[right] as number) < (this.priorities[left] as number) ? right : left
      if ((this.priorities[child] as number) >= priority) break
      this.priorities[index] = this.priorities[child] as number
      this.items[index] = this.items[child] as Item
      index = child
    }
    this.priorities[index] = priority
    this.items[index] = item
  }

  clear(): void {
    this.priorities.length = 0
    this.items.length = 0
  }
}
