/** A seeded PRNG (mulberry32): the same seed gives the same traffic on every machine. */
export class SeededRandom {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  integer(minInclusive: number, maxInclusive: number): number {
    return minInclusive + Math.floor(this.next() * (maxInclusive - minInclusive + 1))
  }

  chance(probability: number): boolean {
    return this.next() < probability
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!
  }

  weighted<T>(items: ReadonlyArray<readonly [T, number]>): T {
    const total = items.reduce((sum, [, weight]) => sum + weight, 0)
    let target = this.next() * total
    for (const [item, weight] of items) {
      target -= weight
      if (target < 0) return item
    }
    return items.at(-1)![0]
  }

  /** Exponentially distributed, for waiting times. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean
  }

  /** Log-normal, for latencies with a long tail. */
  logNormal(median: number, spread: number): number {
    const u = Math.max(this.next(), 1e-12)
    const v = this.next()
    const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
    return median * Math.exp(spread * normal)
  }

  uuid(): string {
    const hex = Array.from({ length: 32 }, () => Math.floor(this.next() * 16).toString(16))
    hex[12] = '4'
    hex[16] = ((Math.floor(this.next() * 4) + 8)).toString(16)
    const s = hex.join('')
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`
  }
}

/** Samples ranks 0..n-1 with probability ∝ 1/(rank+1)^exponent: a few pages get most views. */
export class ZipfSampler {
  private readonly cumulative: Float64Array

  constructor(size: number, exponent = 1.1) {
    this.cumulative = new Float64Array(size)
    let total = 0
    for (let rank = 0; rank < size; rank++) {
      total += 1 / (rank + 1) ** exponent
      this.cumulative[rank] = total
    }
    for (let rank = 0; rank < size; rank++) this.cumulative[rank]! /= total
  }

  sample(random: SeededRandom): number {
    const target = random.next()
    let low = 0
    let high = this.cumulative.length - 1
    while (low < high) {
      const middle = (low + high) >>> 1
      if (this.cumulative[middle]! < target) low = middle + 1
      else high = middle
    }
    return low
  }
}
