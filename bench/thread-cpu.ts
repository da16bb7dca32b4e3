import { readFileSync } from 'node:fs'

/**
 * CPU seconds the process's main thread (the JavaScript thread) has used, user and system, from
 * Linux's /proc (Node 20 has no process.threadCpuUsage). Unlike event-loop utilisation, it does not
 * count the time the thread waited for a core while other threads of the process (chDB's) ran on
 * it, which on two shared cores is much of the "busy" time. Undefined where /proc is absent.
 */
export function mainThreadCpuSeconds(): number | undefined {
  let stat: string
  try {
    stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // Fields after the command name, which is in parentheses and may hold spaces: state is the
  // first, utime and stime the 12th and 13th (the 14th and 15th of the line), in clock ticks.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND
}

/** USER_HZ: 100 on every Linux architecture Node supports. */
const CLOCK_TICKS_PER_SECOND = 100
