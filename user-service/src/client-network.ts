// The client network a login counts against (login-throttle.ts): an IPv4 address's /24, an
// IPv6 address's /64 (what one household or one host is given), from the address the edge
// sets itself (x-mesh-client-address, envoy/edge-routes.yaml). No address, or not one: every
// such login shares the network 'unknown'.
import { isIPv4, isIPv6 } from 'node:net';

export const CLIENT_ADDRESS_HEADER = 'x-mesh-client-address';

/** The eight 16-bit groups of an IPv6 address, '::' expanded; an embedded IPv4 tail as two. */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase().replace(/%.*$/, '');
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const missing = 8 - groups(head).length - groups(tail).length;
  const all =
    tail === undefined
      ? groups(head)
      : [...groups(head), ...Array<string>(missing).fill('0'), ...groups(tail)];
  return all.map((g) => parseInt(g, 16));
}

export function clientNetwork(address: string | undefined): string {
  const a = address?.trim() ?? '';
  if (isIPv4(a)) return `${a.split('.').slice(0, 3).join('.')}.0/24`;
  if (isIPv6(a)) {
    const groups = ipv6Groups(a);
    // An IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d) is that IPv4 client.
    if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff)
      return clientNetwork(
        [groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255].join('.'),
      );
    return `${groups
      .slice(0, 4)
      .map((g) => g.toString(16))
      .join(':')}::/64`;
  }
  return 'unknown';
}
