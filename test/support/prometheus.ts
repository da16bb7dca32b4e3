/** One series of a scrape: its labels and value. */
export interface Sample {
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** The Prometheus text format, enough of it for these assertions (no escaped quotes in our labels). */
export function parseExposition(body: string): { types: Map<string, string>; samples: Map<string, Sample[]> } {
  const types = new Map<string, string>()
  const samples = new Map<string, Sample[]>()
  for (const line of body.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line)
    if (type) types.set(type[1]!, type[2]!)
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!sample) continue
    const labels = Object.fromEntries([...(sample[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((match) => [match[1]!, match[2]!]))
    const list = samples.get(sample[1]!) ?? []
    list.push({ labels, value: Number(sample[3]) })
    samples.set(sample[1]!, list)
  }
  return { types, samples }
}

/** The sum of the series of `name` whose labels include `labels`; undefined when there is none. */
export function sampleValue(scraped: ReturnType<typeof parseExposition>, name: string, labels: Record<string, string> = {}): number | undefined {
  const matching = (scraped.samples.get(name) ?? []).filter((sample) => Object.entries(labels).every(([label, value]) => sample.labels[label] === value))
  return matching.length === 0 ? undefined : matching.reduce((sum, sample) => sum + sample.value, 0)
}
