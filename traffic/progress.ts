/**
 * One updating progress line on a terminal (a plain line every few seconds elsewhere, so CI logs
 * stay readable). Every long operation reports through this.
 */
export function progressLine(label: string, stream: NodeJS.WriteStream = process.stderr): { update(done: number, total: number, extra?: string): void; done(summary: string): void } {
  const started = performance.now()
  let lastPlain = 0
  const render = (done: number, total: number, extra = '') => {
    const seconds = (performance.now() - started) / 1_000
    const percent = total > 0 ? Math.floor((done / total) * 100) : 100
    const rate = seconds > 0 ? Math.round(done / seconds) : 0
    return `${label}: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} (${percent}%) ${rate.toLocaleString('en-US')}/s ${extra}`.trimEnd()
  }
  return {
    update(done, total, extra) {
      if (stream.isTTY) {
        stream.write(`\r\u001b[2K${render(done, total, extra)}`)
      } else if (performance.now() - lastPlain > 2_000 || done === total) {
        lastPlain = performance.now()
        stream.write(`${render(done, total, extra)}\n`)
      }
    },
    done(summary) {
      stream.write(`${stream.isTTY ? '\r\u001b[2K' : ''}${label}: ${summary}\n`)
    },
  }
}
