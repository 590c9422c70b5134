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
});
