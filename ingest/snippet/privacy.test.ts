import type { FastifyRequest } from 'fastify'
import { describe, expect, it } from 'vitest'
import { clientAddress, trustedProxies } from '../request-context.ts'
import { VisitorHasher } from './visitor-hash.ts'

const DAY = 86_400_000
const T = Date.parse('2026-11-22T12:00:00Z')

describe('VisitorHasher', () => {
  it('with a secret, every instance derives the same salt for the day, and a new one the next day', () => {
    const [a, b] = [new VisitorHasher('s3cret'), new VisitorHasher('s3cret')]
    expect(a.hash(T, 'p', 'shop.example', '198.51.100.1', 'ua')).toBe(b.hash(T + 3_600_000, 'p', 'shop.example', '198.51.100.1', 'ua'))
    expect(a.hash(T + DAY, 'p', 'shop.example', '198.51.100.1', 'ua')).not.toBe(b.hash(T, 'p', 'shop.example', '198.51.100.1', 'ua'))
    expect(new VisitorHasher('other').hash(T, 'p', 'shop.example', '198.51.100.1', 'ua')).not.toBe(a.hash(T, 'p', 'shop.example', '198.51.100.1', 'ua'))
  })

  it('without one, the salt is random per instance (so instances disagree) and per day', () => {
    const [a, b] = [new VisitorHasher(), new VisitorHasher()]
    const hash = (hasher: VisitorHasher, time = T) => hasher.hash(time, 'p', 'shop.example', '198.51.100.1', 'ua')
    expect(hash(a)).toBe(hash(a, T + 1_000))
    expect(hash(a)).not.toBe(hash(b))
    const today = hash(a)
    expect(hash(a, T + DAY)).not.toBe(today)
    // Yesterday's salt is gone: the same inputs do not give yesterday's hash again.
    expect(hash(a, T)).not.toBe(today)
  })
})

describe('clientAddress', () => {
  const request = (remoteAddress: string, forwarded?: string) => ({ socket: { remoteAddress }, headers: forwarded ? { 'x-forwarded-for': forwarded } : {} }) as unknown as FastifyRequest
  const proxies = trustedProxies(['10.0.0.0/8', '192.0.2.7', 'fd00::/8'])

  it('is the peer when no proxy is trusted or the peer is not one', () => {
    expect(clientAddress(request('203.0.113.5', '198.51.100.1'))).toBe('203.0.113.5')
    expect(clientAddress(request('203.0.113.5', '198.51.100.1'), proxies)).toBe('203.0.113.5')
  })

  it('walks X-Forwarded-For from the right past trusted proxies only', () => {
    expect(clientAddress(request('10.0.0.1', '198.51.100.1'), proxies)).toBe('198.51.100.1')
    expect(clientAddress(request('::ffff:10.0.0.1', 'forged, 198.51.100.1, 192.0.2.7'), proxies)).toBe('198.51.100.1')
    expect(clientAddress(request('fd00::1', '2001:db8::5'), proxies)).toBe('2001:db8::5')
    // A garbage hop stops the walk at the last address known to be real.
    expect(clientAddress(request('10.0.0.1', '198.51.100.1, nonsense'), proxies)).toBe('10.0.0.1')
    expect(clientAddress(request('10.0.0.1'), proxies)).toBe('10.0.0.1')
  })

  it('refuses entries that are not addresses or CIDRs', () => {
    for (const entry of ['proxy.local', '10.0.0.0/33', '10.0.0.0/x']) expect(() => trustedProxies([entry])).toThrow('is not an IP address or CIDR')
  })
})
