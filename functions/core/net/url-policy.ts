/**
 * Which URLs Serval will store or call. Anything it might fetch later (dataset files, webhooks)
 * must not point at the instance metadata service or other link-local addresses, a classic way
 * to turn a server into a proxy for its own credentials; on AWS it must also be https.
 */
import { isIP } from 'node:net';
import { validationFailed } from '../kernel/errors.js';

export interface UrlPolicy {
  /** Schemes accepted besides https (e.g. s3 for dataset locations). */
  readonly schemes?: readonly string[];
  /** The local runtime accepts http:// and loopback hosts; AWS does not. */
  readonly allowInsecure?: boolean;
}

const METADATA_HOSTS = new Set([
  'metadata',
  'metadata.google.internal',
  'instance-data',
  'instance-data.ec2.internal',
]);

function ipv4Octets(host: string): number[] | undefined {
  if (isIP(host) !== 4) return undefined;
  return host.split('.').map(Number);
}

/** Link-local, unspecified, metadata and (when not allowed) loopback addresses. */
function forbiddenAddress(host: string, allowLoopback: boolean): string | undefined {
  const bare =
    host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1).toLowerCase() : host.toLowerCase();
  if (METADATA_HOSTS.has(bare)) return 'a cloud metadata host';
  let v4 = ipv4Octets(bare);
  if (!v4 && isIP(bare) === 6) {
    if (/^fe[89ab][0-9a-f]?:/.test(bare)) return 'an IPv6 link-local address';
    if (bare === '::') return 'the unspecified address';
    if (bare === 'fd00:ec2::254') return 'the EC2 metadata address';
    if (bare === '::1') return allowLoopback ? undefined : 'a loopback address';
    // IPv4-mapped IPv6; the URL parser writes the IPv4 part in hex (::ffff:a9fe:a9fe).
    const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
    const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(bare);
    if (dotted) v4 = ipv4Octets(dotted[1]!);
    else if (hex) {
      const hi = Number.parseInt(hex[1]!, 16);
      const lo = Number.parseInt(hex[2]!, 16);
      v4 = [hi >> 8, hi & 255, lo >> 8, lo & 255];
    }
  }
  if (v4) {
    const [a, b] = v4 as [number, number];
    if (a === 169 && b === 254) return 'a link-local (metadata) address';
    if (a === 0) return 'the unspecified address';
    if (a === 127 && !allowLoopback) return 'a loopback address';
  }
  if (bare === 'localhost' && !allowLoopback) return 'a loopback address';
  return undefined;
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
    const why = forbiddenAddress(url.hostname, policy.allowInsecure ?? false);
    if (why) throw validationFailed(`${field} points at ${why}, which Serval never calls`, { field });
  }
  return url;
}
