import { isIPv4, isIPv6 } from 'node:net';

/** The verified caller, as far as rate limiting cares (the gateway's `Identity` fits). */
export interface RateLimitIdentity {
  readonly sub: string;
  readonly tid: string;
}

/**
 * The bucket a request counts against. A verified identity is limited per
 * tenant and user: `tenant:<tid>:user:<sub>`; anyone else per client address:
 * `ip:<address>` — the address the foundation resolved (socket, or
 * x-forwarded-for through trusted proxies only), never a header read here.
 * With `routeId` (a route with its own stricter limit) the route is added:
 * `…:route:<routeId>`, a separate bucket per caller and route.
 *
 * Parts are percent-encoded, so `:` inside a claim cannot make two callers'
 * keys collide (`tid "a:user:b", sub "c"` ≠ `tid "a", sub "b:user:c"`).
 * IPv6 clients are limited per /64 (one customer's usual allocation: counting
 * per address would let one host rotate through 2^64 addresses), and an
 * IPv4-mapped IPv6 address counts as its IPv4 address.
 */
export function rateLimitKey(
  identity: RateLimitIdentity | undefined,
  clientIp: string,
  routeId?: string,
): string {
  const subject =
    identity === undefined
      ? `ip:${clientAddressKey(clientIp)}`
      : `tenant:${encodeURIComponent(identity.tid)}:user:${encodeURIComponent(identity.sub)}`;
  return routeId === undefined ? subject : `${subject}:route:${encodeURIComponent(routeId)}`;
}

/** `1.2.3.4` → `1.2.3.4`; `2001:db8:0:1:…` → `2001:db8:0:1::/64`; `::ffff:1.2.3.4` → `1.2.3.4`. */
export function clientAddressKey(clientIp: string): string {
  const address = clientIp.replace(/%.*$/, ''); // an IPv6 zone id is local to the host
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return address === '' ? 'unknown' : encodeURIComponent(address);
  const groups = expandIPv6(address.toLowerCase());
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const high = groups[6] ?? 0;
    const low = groups[7] ?? 0;
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** A valid IPv6 address (node:net said so) as its eight 16-bit groups. */
function expandIPv6(address: string): number[] {
  let text = address;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const left = parse(head);
  if (tail === undefined) return left;
  const right = parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}
