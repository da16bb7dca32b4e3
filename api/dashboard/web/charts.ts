import uPlot from 'uplot'

const SECONDS = 60

/** 24-hour clock with seconds: the shortest label that still reads on a 60-second axis. */
const CLOCK = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })

export interface ChartSeries {
  readonly label: string
  readonly stroke: string
  /** Marks each second: a series with few values (an error rate) is visible even as one point. */
  readonly points?: boolean
  /** Draws the line across seconds without a value (no logs that second) instead of breaking it. */
  readonly spanGaps?: boolean
}

/** A rolling per-second chart: one x (seconds) and one or more series, the last 60 s. */
export class RollingChart {
  private readonly times: number[] = []
  private readonly values: Array<Array<number | null>>
  private readonly plot: uPlot

  constructor(private readonly element: HTMLElement, series: readonly ChartSeries[], height: number, format: (value: number) => string = String) {
    this.values = series.map(() => [])
    this.plot = new uPlot({
      width: Math.max(280, element.clientWidth),
      height,
      legend: { show: series.length > 1 },
      cursor: { show: false },
      scales: { x: { time: true }, y: { range: (_self, _min, max) => [0, Math.max(1, max)] } },
      axes: [
        // uPlot's time labels ("12:11am" over a date) need more room than a small card gives at
        // its default spacing; one clock label per 100 px never touches the next.
        { space: 100, values: (_self, ticks) => ticks.map((tick) => CLOCK.format(tick * 1000)) },
        { values: (_self, ticks) => ticks.map(format), size: 50 },
      ],
      series: [{}, ...series.map(({ label, stroke, points, spanGaps }) => ({ label, stroke, width: 2, spanGaps: spanGaps ?? false, points: { show: points ?? false, size: 6, fill: stroke } }))],
    }, [[], ...series.map(() => [])], element)
    // The plot itself, for the browser test to read what was drawn.
    Object.defineProperty(element, 'uplot', { value: this.plot })
    new ResizeObserver(() => this.plot.setSize({ width: Math.max(280, element.clientWidth), height })).observe(element)
  }

  /**
   * Adds one second (seq in ms). A second at or before the last one is dropped: the REST answer
   * that seeds a chart may land after the first live second. A missing value is a gap (null:
   * uPlot skips it; NaN would poison the whole path and draw nothing).
   */
  push(seq: number, values: readonly (number | null | undefined)[]): void {
    const time = seq / 1000
    if (this.times.length > 0 && time <= this.times.at(-1)!) return
    this.times.push(time)
    values.forEach((value, index) => this.values[index]!.push(typeof value === 'number' && Number.isFinite(value) ? value : null))
    while (this.times.length > SECONDS) {
      this.times.shift()
      for (const series of this.values) series.shift()
    }
    this.plot.setData([this.times, ...this.values] as uPlot.AlignedData)
    this.element.dataset.points = String(this.values[0]!.filter((value) => value !== null && value > 0).length)
  }

  sum(series = 0): number {
    return this.values[series]!.reduce<number>((total, value) => total + (value ?? 0), 0)
  }
}

/** A ranked list with proportional bars. */
export function renderBars(list: HTMLElement, rows: ReadonlyArray<{ label: string; value: number; display?: string }>): void {
  const max = Math.max(1, ...rows.map((row) => row.value))
  list.replaceChildren(...rows.map((row) => {
    const item = document.createElement('li')
    const bar = document.createElement('i')
    bar.style.width = `${(row.value / max) * 100}%`
    const label = document.createElement('span')
    label.textContent = row.label
    const value = document.createElement('b')
    value.textContent = row.display ?? row.value.toLocaleString()
    item.append(bar, label, value)
    return item
  }))
}
