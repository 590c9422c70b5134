/**
 * Which URLs Serval will store or call. Anything it might fetch later (dataset files, webhooks)
 * must not point at the instance metadata service, link-local or loopback addresses, or — unless
 * the deployment opts in — the private networks around it: a classic way to turn a server into a
 * proxy for its own credentials or into a scanner of its VPC. On AWS it must also be https.
 *
 * Every spelling counts: IPv6 forms that embed an IPv4 address (IPv4-compatible, -mapped,
 * -translated, NAT64, 6to4, Teredo) are judged by the address they embed, and host names are
 * compared without their trailing dot (`localhost.` is localhost to every resolver).
 */
import { isIP } from 'node:net';
import { validationFailed } from '../kernel/errors.js';

export interface UrlPolicy {
  /** Schemes accepted besides https (e.g. s3 for dataset locations). */
  readonly schemes?: readonly string[];
  /** The local runtime accepts http:// and loopback hosts; AWS does not. */
  readonly allowInsecure?: boolean;
  /**
   * Private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) accepted: receivers inside
   * the deployment's VPC (SERVAL_WEBHOOK_ALLOW_PRIVATE=true). Metadata and link-local stay refused.
   */
  readonly allowPrivate?: boolean;
}

const METADATA_HOSTS = new Set([
  'metadata',
  'metadata.google.internal',
  'instance-data',
  'instance-data.ec2.internal',
]);

type Verdict = { why: string; class: 'always' | 'loopback' | 'private' } | undefined;

const always = (why: string): Verdict => ({ why, class: 'always' });

function ipv4Octets(host: string): number[] | undefined {
  if (isIP(host) !== 4) return undefined;
  return host.split('.').map(Number);
}

function classifyV4(octets: readonly number[]): Verdict {
  const [a, b] = octets as [number, number];
  if (a === 169 && b === 254) return always('a link-local (metadata) address');
  if (a === 0) return always('the unspecified address');
  if (a >= 224) return always('a multicast or reserved address');
  if (a === 127) return { why: 'a loopback address', class: 'loopback' };
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) {
    return { why: 'a private address', class: 'private' };
  }
  if (a === 100 && b >= 64 && b <= 127)
    return { why: 'a shared (carrier-grade NAT) address', class: 'private' };
  if (a === 198 && (b === 18 || b === 19)) return { why: 'a private address', class: 'private' };
  return undefined;
}

/** The eight 16-bit groups of an IPv6 address (isIP already said it is one). */
function ipv6Groups(text: string): number[] {
  let s = text.split('%')[0]!;
  const groups: number[] = [];
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  let v4: number[] = [];
  if (tail) {
    const o = tail[1]!.split('.').map(Number);
    v4 = [(o[0]! << 8) | o[1]!, (o[2]! << 8) | o[3]!];
    s = s.slice(0, -tail[1]!.length);
    if (s.endsWith(':') && !s.endsWith('::')) s = s.slice(0, -1);
  }
  const [head, rest] = s.includes('::') ? s.split('::') : [s, undefined];
  const parse = (part: string | undefined) =>
    part
      ? part
          .split(':')
          .filter((g) => g !== '')
          .map((g) => Number.parseInt(g, 16))
      : [];
  const left = parse(head);
  const right = [...parse(rest), ...v4];
  const fill = rest === undefined ? 0 : 8 - left.length - right.length;
  groups.push(...left, ...new Array<number>(fill).fill(0), ...right);
  return groups;
}

const v4Of = (hi: number, lo: number) => [hi >> 8, hi & 255, lo >> 8, lo & 255];

function classifyV6(text: string): Verdict {
  const g = ipv6Groups(text);
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 8)) return always('the unspecified address');
  if (zeros(0, 7) && g[7] === 1) return { why: 'a loopback address', class: 'loopback' };
  if (g[0] === 0xfd00 && g[1] === 0x0ec2 && zeros(2, 7) && g[7] === 0x254) {
    return always('the EC2 metadata address');
  }
  if ((g[0]! & 0xffc0) === 0xfe80) return always('an IPv6 link-local address');
  if ((g[0]! & 0xff00) === 0xff00) return always('an IPv6 multicast address');
  if ((g[0]! & 0xfe00) === 0xfc00) return { why: 'a unique local (private) IPv6 address', class: 'private' };
  // IPv4 embedded in IPv6: judged by the IPv4 address, since that is where the packets go.
  let embedded: number[] | undefined;
  if (zeros(0, 5) && (g[5] === 0 || g[5] === 0xffff))
    embedded = v4Of(g[6]!, g[7]!); // compatible, mapped
  else if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0)
    embedded = v4Of(g[6]!, g[7]!); // translated
  else if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6))
    embedded = v4Of(g[6]!, g[7]!); // NAT64
  else if (g[0] === 0x2002)
    embedded = v4Of(g[1]!, g[2]!); // 6to4
  else if (g[0] === 0x2001 && g[1] === 0)
    embedded = v4Of(g[6]! ^ 0xffff, g[7]! ^ 0xffff); // Teredo
  else if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) {
    // Local-use NAT64 (RFC 8215) puts the IPv4 part where its operator chose: unreadable here.
    return { why: 'a local-use NAT64 address', class: 'private' };
  }
  return embedded ? classifyV4(embedded) : undefined;
}

function classifyHost(host: string): Verdict {
  const bracketed = host.startsWith('[') && host.endsWith(']');
  const bare = (bracketed ? host.slice(1, -1) : host).toLowerCase().replace(/\.+$/, '');
  if (METADATA_HOSTS.has(bare)) return always('a cloud metadata host');
  if (bare === 'localhost' || bare.endsWith('.localhost'))
    return { why: 'a loopback address', class: 'loopback' };
  const v4 = ipv4Octets(bare);
  if (v4) return classifyV4(v4);
  if (isIP(bare) === 6) return classifyV6(bare);
  return undefined;
}

/** Why Serval refuses to call `host` under `policy`, or undefined when it may. */
export function forbiddenHost(host: string, policy: UrlPolicy): string | undefined {
  const verdict = classifyHost(host);
  if (!verdict) return undefined;
  if (verdict.class === 'loopback' && policy.allowInsecure) return undefined;
  if (verdict.class === 'private' && policy.allowPrivate) return undefined;
  return verdict.why;
}

export function assertAllowedUrl(text: string, policy: UrlPolicy, field: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw validationFailed(`${field} is not a URL`, { field });
  }
  const scheme = url.protocol.replace(/:$/, '');
  const schemes = new Set(['https', ...(policy.schemes ?? []), ...(policy.allowInsecure ? ['http'] : [])]);
  if (!schemes.has(scheme)) {
    throw validationFailed(`${field} must use ${[...schemes].join(' or ')}, not ${scheme}`, {
      field,
      scheme,
    });
  }
  if (url.username || url.password) {
    throw validationFailed(`${field} must not carry credentials`, { field });
  }
  if (scheme === 'http' || scheme === 'https') {
    const why = forbiddenHost(url.hostname, policy);
    if (why) throw validationFailed(`${field} points at ${why}, which Serval never calls`, { field });
  }
  return url;
}
