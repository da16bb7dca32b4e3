import type { ImportProgress } from './importer.ts'

const count = (value: number) => value.toLocaleString('en-US')

/** `12,000 lines (11,990 accepted, 10 refused) 8,400/s 42% ETA 14s` — ETA from bytes read of the known size. */
export function describeImportProgress(progress: ImportProgress, elapsedMs: number): string {
  const seconds = elapsedMs / 1_000
  const rate = seconds > 0 ? Math.round(progress.lines / seconds) : 0
  let share = ''
  if (progress.totalBytes && progress.bytesRead > 0) {
    const fraction = Math.min(1, progress.bytesRead / progress.totalBytes)
    const remaining = fraction < 1 ? Math.ceil((seconds * (1 - fraction)) / fraction) : 0
    share = ` ${Math.floor(fraction * 100)}% ETA ${remaining}s`
  }
  const duplicates = progress.duplicates > 0 ? `, ${count(progress.duplicates)} duplicates` : ''
  return `${count(progress.lines)} lines (${count(progress.accepted)} accepted, ${count(progress.refused)} refused${duplicates}) ${count(rate)}/s${share}`
}

/**
 * A progress line on stderr: rewritten in place on a terminal, a plain line every few seconds
 * elsewhere (CI logs stay readable). Data never goes here, so stdout stays clean for pipes.
 */
export function stderrProgress(label: string, stream: NodeJS.WriteStream = process.stderr): { update(text: string): void; done(): void } {
  let lastPlain = 0
  let shown = false
  return {
    update(text) {
      if (stream.isTTY) {
        stream.write(`\r\u001b[2K${label}: ${text}`)
        shown = true
      } else if (performance.now() - lastPlain > 2_000) {
        lastPlain = performance.now()
        stream.write(`${label}: ${text}\n`)
      }
    },
    done() {
      if (shown) stream.write('\r\u001b[2K')
    },
  }
}
