import { BlockList, isIP } from 'node:net'

/**
 * The proxies whose X-Forwarded-For is believed (EDDY_TRUSTED_PROXIES: IPs and CIDRs). Without
 * any, X-Forwarded-For is ignored: anyone can send that header, and a forged address would let a
 * client pick its own cookieless visitor hash.
 */
export function trustedProxies(entries: readonly string[]): BlockList {
  const list = new BlockList()
  for (const entry of entries) {
    const [address = '', bits] = entry.trim().split('/')
    const family = isIP(address)
    const prefix = Number(bits ?? 0)
    if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
      throw new Error(`trusted proxy ${JSON.stringify(entry)} is not an IP address or CIDR`)
    }
    const type = family === 4 ? 'ipv4' : 'ipv6'
    if (bits === undefined) list.addAddress(address, type)
    else list.addSubnet(address, prefix, type)
  }
  return list
}
