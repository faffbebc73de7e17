import { BlockList, isIP } from 'node:net';
import { parseCidr } from '../config/schema.ts';

/**
 * Who the client is: the socket's peer, unless that peer is a trusted proxy,
 * in which case `x-forwarded-for` is walked from the right, skipping trusted
 * hops; the first untrusted address is the client. A client can prepend what
 * it likes to x-forwarded-for; only entries added by trusted proxies count.
 */
export class ClientAddressResolver {
  readonly #trusted = new BlockList();
  readonly #any: boolean;

  constructor(trustedProxies: readonly string[]) {
    for (const entry of trustedProxies) {
      const cidr = parseCidr(entry);
      if (cidr !== undefined) this.#trusted.addSubnet(cidr.address, cidr.prefix, cidr.family);
    }
    this.#any = trustedProxies.length > 0;
  }

  isTrusted(address: string): boolean {
    if (!this.#any) return false;
    const family = isIP(address);
    return family !== 0 && this.#trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }

  resolve(peer: string, forwardedFor: string | undefined): string {
    let client = normalize(peer);
    if (forwardedFor === undefined || !this.isTrusted(client)) return client;
    const hops = forwardedFor.split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalize((hops[i] as string).trim());
      if (isIP(hop) === 0) break;
      client = hop;
      if (!this.isTrusted(hop)) break;
    }
    return client;
  }
}

export function normalize(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
