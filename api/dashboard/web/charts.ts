import uPlot from 'uplot'

const SECONDS = 60

/** A rolling per-second chart: one x (seconds) and one or more series, the last 60 s. */
export class RollingChart {
  private readonly times: number[] = []
  private readonly values: number[][]
  private readonly plot: uPlot

  constructor(private readonly element: HTMLElement, series: ReadonlyArray<{ label: string; stroke: string; points?: boolean }>, height: number, format: (value: number) => string = String) {
    this.values = series.map(() => [])
    this.plot = new uPlot({
      width: Math.max(280, element.clientWidth),
      height,
      legend: { show: series.length > 1 },
      cursor: { show: false },
      scales: { x: { time: true }, y: { range: (_self, _min, max) => [0, Math.max(1, max)] } },
      axes: [{}, { values: (_self, ticks) => ticks.map(format), size: 50 }],
      series: [{}, ...series.map(({ label, stroke, points }) => ({ label, stroke, width: 2, points: { show: points ?? false, size: 5 } }))],
    }, [[], ...series.map(() => [])], element)
    new ResizeObserver(() => this.plot.setSize({ width: Math.max(280, element.clientWidth), height })).observe(element)
  }

  /** Adds one second (seq in ms); seconds arrive in order, gaps stay gaps. */
  push(seq: number, values: readonly (number | null)[]): void {
    this.times.push(seq / 1000)
    values.forEach((value, index) => this.values[index]!.push(value ?? NaN))
    while (this.times.length > SECONDS) {
      this.times.shift()
      for (const series of this.values) series.shift()
    }
    this.plot.setData([this.times, ...this.values] as uPlot.AlignedData)
    this.element.dataset.points = String(this.values[0]!.filter((value) => value > 0).length)
  }

  sum(series = 0): number {
    return this.values[series]!.reduce((total, value) => total + (Number.isNaN(value) ? 0 : value), 0)
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
