import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'

/**
 * The processes of the services a bench talks to (the broker, ClickHouse), found by the port they
 * listen on, so a run can say how much CPU each took and pin them away from the processors.
 */
export interface ServiceProcess {
  readonly name: string
  readonly pid: number
}

/** The process listening on `port` on this machine (ss, as root or the same user). */
function processListeningOn(name: string, port: number): ServiceProcess {
  const out = execFileSync('ss', ['-Htlnp', `sport = :${port}`], { encoding: 'utf8' })
  const pid = /pid=(\d+)/.exec(out)?.[1]
  if (pid === undefined) throw new Error(`no process found listening on port ${port} (${name})`)
  return { name, pid: Number(pid) }
}

/** The port of the first address in a comma-separated broker list or a URL. */
function portOf(address: string): number {
  const first = address.split(',')[0]!.trim()
  const url = new URL(first.includes('://') ? first : `tcp://${first}`)
  return Number(url.port)
}

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100

/** User plus system CPU seconds of a process, all its threads, so far. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command (which may hold spaces), from field 3 on: utime is 14th, stime 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
}

/** Pins every thread of a process to the given CPUs (taskset -a). */
function pinProcess(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-cp', cpus, String(pid)], { stdio: 'ignore' })
}

/**
 * With two cores or more: the services to the last core, this process (and the children it
 * starts from now on, which inherit it) to the others, so what the processors do is measured
 * apart from what the broker and ClickHouse take. Returns what undoes it for this process, or
 * undefined on one core.
 */
export function pinServicesAway(services: readonly ServiceProcess[], cores = availableParallelism()): (() => void) | undefined {
  if (cores < 2) return undefined
  const last = String(cores - 1)
  for (const service of services) pinProcess(service.pid, last)
  pinProcess(process.pid, cores === 2 ? '0' : `0-${cores - 2}`)
  return () => pinProcess(process.pid, `0-${cores - 1}`)
}

/** The broker's and ClickHouse's processes, from their addresses. */
export function servicesAt(brokers: string, clickhouseUrl: string): ServiceProcess[] {
  return [processListeningOn('broker', portOf(brokers)), processListeningOn('clickhouse', portOf(clickhouseUrl))]
}
