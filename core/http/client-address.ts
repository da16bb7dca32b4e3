import { BlockList, isIP } from 'node:net'
import type { FastifyRequest } from 'fastify'

/**
 * The client's address: the socket's peer, or — when that peer is a trusted proxy — the
 * right-most X-Forwarded-For entry that is not itself a trusted proxy (the entries to its left
 * were written by the client and prove nothing). Same rule as fastify's trustProxy with a list.
 */
export function clientAddress(request: FastifyRequest, trusted?: BlockList): string {
  let address = plainAddress(request.socket?.remoteAddress ?? request.ip ?? '')
  if (!trusted) return address
  const forwarded = request.headers['x-forwarded-for']
  const hops = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded ?? '').split(',')
  for (let index = hops.length - 1; index >= 0 && isTrusted(trusted, address); index--) {
    const hop = plainAddress(hops[index]!.trim())
    if (isIP(hop) === 0) break
    address = hop
  }
  return address
}

function isTrusted(list: BlockList, address: string): boolean {
  const family = isIP(address)
  return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6')
}

/** `::ffff:10.0.0.1` (IPv4 on a dual-stack socket) → `10.0.0.1`, so IPv4 CIDRs match it. */
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address
}
