/** Progress of the bench, one `[bench] …` line at a time on stderr (stdout carries the markdown). */
export function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`)
}

/**
 * A log for callbacks that fire many times a second (polls, per-batch progress): at most one line
 * every `intervalMs`, plus every line passed with `force` (the last one of a step).
 */
export function throttled(intervalMs = 2_000): (line: string, force?: boolean) => void {
  let last = 0
  return (line, force = false) => {
    const now = performance.now()
    if (!force && now - last < intervalMs) return
    last = now
    log(line)
  }
}
