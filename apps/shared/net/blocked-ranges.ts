// Addresses no outbound request may reach: loopback, private, link-local and the
// other special-purpose ranges (IANA registries), with IPv6 forms that embed an IPv4 address.
import { isIP, isIPv4 } from 'node:net';

export type Range = 'this_network' | 'private' | 'shared' | 'loopback' | 'link_local' | 'reserved' | 'multicast' | 'unspecified' | 'unique_local' | 'site_local';

/** [network, prefix length, what it is]. Nothing here is a legitimate webhook receiver. */
const V4_BLOCKED: Array<[string, number, Range]> = [
  ['0.0.0.0', 8, 'this_network'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared'], // carrier-grade NAT
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link_local'], // cloud metadata services live here
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'], // benchmarking
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // and 255.255.255.255
];

const V6_BLOCKED: Array<[string, number, Range]> = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['::', 96, 'reserved'], // IPv4-compatible, deprecated
  ['64:ff9b:1::', 48, 'private'], // local-use NAT64
  ['fc00::', 7, 'unique_local'],
  ['fe80::', 10, 'link_local'],
  ['fec0::', 10, 'site_local'],
  ['ff00::', 8, 'multicast'],
];

/** IPv6 prefixes that carry an IPv4 address in the given groups: that address decides. */
const V6_EMBEDDING_V4: Array<[string, number, number]> = [
  ['::ffff:0:0', 96, 6], // IPv4-mapped: ::ffff:127.0.0.1 is 127.0.0.1
  ['64:ff9b::', 96, 6], // NAT64, well-known prefix
  ['2002::', 16, 1], // 6to4
];

function v4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
}

/** Eight 16-bit groups; `ip` must satisfy isIPv6. */
function v6ToGroups(ip: string): number[] {
  let s = ip.split('%')[0]; // zone id
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const n = v4ToInt(dotted[2]);
    s = `${dotted[1]}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => parseInt(g, 16));
}

function v4InRange(ip: number, network: string, bits: number): boolean {
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((ip & mask) >>> 0) === ((v4ToInt(network) & mask) >>> 0);
}

function v6InRange(groups: number[], network: string, bits: number): boolean {
  const net = v6ToGroups(network);
  for (let i = 0; i < 8 && bits > 0; i++, bits -= 16) {
    const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
    if ((groups[i] & mask) !== (net[i] & mask)) return false;
  }
  return true;
}

/** The blocked range an IP address is in, or undefined for a public address (or a non-address). */
export function blockedRange(address: string): Range | undefined {
  const ip = address.replace(/^\[|\]$/g, '');
  if (isIPv4(ip)) {
    const n = v4ToInt(ip);
    return V4_BLOCKED.find(([net, bits]) => v4InRange(n, net, bits))?.[2];
  }
  if (isIP(ip) !== 6) return undefined;
  const groups = v6ToGroups(ip);
  for (const [net, bits, at] of V6_EMBEDDING_V4) {
    if (v6InRange(groups, net, bits)) {
      const v4 = (((groups[at] << 16) | groups[at + 1]) >>> 0);
      return blockedRange([v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255].join('.'));
    }
  }
  return V6_BLOCKED.find(([net, bits]) => v6InRange(groups, net, bits))?.[2];
}
