import { describe, expect, it } from 'vitest'
import { fingerprintOf, messageTemplate } from './fingerprint.ts'

describe('messageTemplate', () => {
  it.each([
    ['payment 4411 failed: card declined', 'payment <n> failed: card declined'],
    ['job 0b6f3c7e-1d2a-4b5c-8d9e-0f1a2b3c4d5e failed: connection reset', 'job <uuid> failed: connection reset'],
    ['timeout after 2500 ms calling inventory at 10.0.3.7:8080', 'timeout after <n> ms calling inventory at <ip>'],
    ['could not open /var/data/cache/31.json', 'could not open <path>'],
    ['upstream 502 from "pricing-service"', 'upstream <n> from <str>'],
    ["user 'alice' not found", 'user <str> not found'],
    ['segfault at 0x7ffd4a3b', 'segfault at <hex>'],
    ['commit 9fceb02d0ae598e95dc970b74767f19372d61af8 rejected', 'commit <hex> rejected'],
    ['connect to fe80::1ff:fe23:4567:890a failed', 'connect to <ip> failed'],
  ])('%s → %s', (message, template) => {
    expect(messageTemplate(message)).toBe(template)
  })

  it('gives one fingerprint to occurrences of one error, another to another service', () => {
    const a = fingerprintOf('checkout', messageTemplate('payment 1 failed'))
    expect(fingerprintOf('checkout', messageTemplate('payment 97 failed'))).toBe(a)
    expect(fingerprintOf('billing', messageTemplate('payment 97 failed'))).not.toBe(a)
  })
})
