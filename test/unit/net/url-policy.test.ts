import { describe, expect, it } from 'vitest';
import type { DomainError } from '../../../functions/core/kernel/errors.js';
import { assertAllowedUrl } from '../../../functions/core/net/url-policy.js';

const refused = (url: string, policy = {}) => {
  try {
    assertAllowedUrl(url, policy, 'uri');
    return false;
  } catch (err) {
    expect((err as DomainError).code).toBe('validation_failed');
    return true;
  }
};

describe('URL policy', () => {
  it('accepts https and declared schemes', () => {
    expect(refused('https://example.com/data.csv')).toBe(false);
    expect(refused('s3://bucket/key.csv', { schemes: ['s3'] })).toBe(false);
    expect(refused('http://example.com/x', { allowInsecure: true })).toBe(false);
    expect(refused('http://127.0.0.1:9000/hook', { allowInsecure: true })).toBe(false);
  });

  it('refuses other schemes, http on AWS, credentials and malformed URLs', () => {
    for (const u of [
      'http://example.com',
      'ftp://example.com/x',
      'file:///etc/passwd',
      'gopher://x',
      's3://b/k',
      'https://user:pw@example.com',
      'not a url',
      '',
    ]) {
      expect(refused(u), u).toBe(true);
    }
  });

  it('refuses metadata, link-local, unspecified and (on AWS) loopback hosts in every spelling', () => {
    const hosts = [
      '169.254.169.254',
      '169.254.0.1',
      '[fe80::1]',
      '[fd00:ec2::254]',
      '[::ffff:169.254.169.254]',
      '0.0.0.0',
      '[::]',
      'metadata.google.internal',
      '127.0.0.1',
      'localhost',
      '[::1]',
      // The WHATWG parser normalises these to 169.254.169.254 before the check.
      '2852039166',
      '0xa9fea9fe',
      '0251.0376.0251.0376',
    ];
    for (const h of hosts) expect(refused(`https://${h}/latest/meta-data/`), h).toBe(true);
    // Locally loopback is where test receivers live; metadata stays refused there too.
    expect(refused('http://169.254.169.254/', { allowInsecure: true })).toBe(true);
  });

  // Issue 18 item 8: every form below reached a private, loopback or metadata address.
  const aws = {};
  const awsPrivate = { allowPrivate: true };
  const local = { allowInsecure: true };
  const localPrivate = { allowInsecure: true, allowPrivate: true };
  const table: { host: string; aws: boolean; awsPrivate: boolean; local: boolean; localPrivate: boolean }[] =
    [
      // [host, refused on AWS, on AWS with the private opt-in, locally, locally with the opt-in]
      ...(
        [
          ['10.0.0.1', 'private'],
          ['10.255.255.255', 'private'],
          ['172.16.0.1', 'private'],
          ['172.31.255.254', 'private'],
          ['192.168.0.1', 'private'],
          ['100.64.0.1', 'private'],
          ['100.127.255.254', 'private'],
          ['[fc00::1]', 'private'],
          ['[fd12:3456::1]', 'private'],
          ['[::ffff:10.0.0.1]', 'private'],
          ['[64:ff9b::a00:1]', 'private'],
          ['[::169.254.169.254]', 'metadata'],
          ['[::ffff:0:a9fe:a9fe]', 'metadata'],
          ['[64:ff9b::a9fe:a9fe]', 'metadata'],
          ['[64:ff9b::169.254.169.254]', 'metadata'],
          ['[2002:a9fe:a9fe::1]', 'metadata'],
          ['[fd00:ec2::254]', 'metadata'],
          ['metadata.google.internal.', 'metadata'],
          ['METADATA.GOOGLE.INTERNAL', 'metadata'],
          ['[::127.0.0.1]', 'loopback'],
          ['[::ffff:127.0.0.1]', 'loopback'],
          ['[64:ff9b::7f00:1]', 'loopback'],
          ['localhost.', 'loopback'],
          ['api.localhost', 'loopback'],
          ['a.b.localhost.', 'loopback'],
          ['127.0.0.1', 'loopback'],
          ['[::1]', 'loopback'],
          ['localhost', 'loopback'],
          ['172.15.255.255', 'public'],
          ['172.32.0.1', 'public'],
          ['100.63.255.255', 'public'],
          ['100.128.0.1', 'public'],
          ['192.169.0.1', 'public'],
          ['93.184.216.34', 'public'],
          ['[2606:4700::1111]', 'public'],
          ['[::ffff:93.184.216.34]', 'public'],
          ['localhost.example.com', 'public'],
        ] as const
      ).map(([host, kind]) => ({
        host,
        aws: kind !== 'public',
        awsPrivate: kind === 'metadata' || kind === 'loopback',
        local: kind === 'metadata' || kind === 'private',
        localPrivate: kind === 'metadata',
      })),
    ];

  it.each(table)(
    '$host: refused on AWS $aws, with private opt-in $awsPrivate, locally $local, locally with opt-in $localPrivate',
    (row) => {
      expect(refused(`https://${row.host}/hook`, aws)).toBe(row.aws);
      expect(refused(`https://${row.host}/hook`, awsPrivate)).toBe(row.awsPrivate);
      // Locally http:// is accepted, so the same table covers the local runtime's test receivers.
      expect(refused(`http://${row.host}/hook`, local)).toBe(row.local);
      expect(refused(`http://${row.host}/hook`, localPrivate)).toBe(row.localPrivate);
    },
  );

  it('keeps the local runtime loopback http targets allowed', () => {
    for (const u of [
      'http://127.0.0.1:9000/hook',
      'http://localhost:4566/x',
      'http://[::1]:8080/',
      'http://127.0.0.2/',
    ]) {
      expect(refused(u, local), u).toBe(false);
      expect(refused(u, aws), u).toBe(true);
    }
  });
});
