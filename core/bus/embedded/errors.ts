import { BusError } from '../port.ts'

/** Maps a failed write or fsync to the port's error; both kinds are worth retrying later. */
export function appendError(error: unknown, where: string): BusError {
  if (error instanceof BusError) return error
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new BusError(`disk full while appending to ${where}`, true, 'DISK_FULL', { cause: error })
  }
  return new BusError(`could not make records durable in ${where}: ${String(error)}`, true, 'NOT_DURABLE', { cause: error })
}

export function closedError(): BusError {
  return new BusError('the embedded bus is closed', false, 'CLOSED')
}
