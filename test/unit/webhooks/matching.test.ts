import { describe, expect, it } from 'vitest';
import { eventCategory, matchesEvent, webhookWants } from '../../../functions/core/webhooks/matching.js';
import type { Webhook } from '../../../functions/core/webhooks/types.js';

describe('event matching', () => {
  it('puts alert.* under alert and version.* / model.* under lifecycle', () => {
    expect(eventCategory('alert.raised')).toBe('alert');
    expect(eventCategory('version.promoted')).toBe('lifecycle');
    expect(eventCategory('version.rolled_back')).toBe('lifecycle');
    expect(eventCategory('model.created')).toBe('lifecycle');
    expect(eventCategory('webhook.ping')).toBeUndefined();
    expect(eventCategory('alerts.raised')).toBeUndefined();
    expect(eventCategory('versioning.x')).toBeUndefined();
  });

  it('delivers by subscription', () => {
    expect(matchesEvent(['alert'], 'alert.raised')).toBe(true);
    expect(matchesEvent(['*'], 'alert.raised')).toBe(true);
    expect(matchesEvent(['lifecycle'], 'alert.raised')).toBe(false);
    expect(matchesEvent(['lifecycle'], 'version.promoted')).toBe(true);
    expect(matchesEvent(['lifecycle'], 'model.archived')).toBe(true);
    expect(matchesEvent(['alert'], 'version.rolled_back')).toBe(false);
    expect(matchesEvent(['*'], 'version.rolled_back')).toBe(true);
    expect(matchesEvent(['alert', 'lifecycle'], 'version.promoted')).toBe(true);
    // Only '*' receives types outside both categories.
    expect(matchesEvent(['alert', 'lifecycle'], 'system.mode_changed')).toBe(false);
    expect(matchesEvent(['*'], 'system.mode_changed')).toBe(true);
    expect(matchesEvent([], 'alert.raised')).toBe(false);
  });

  it('skips webhooks that are not active', () => {
    const w: Webhook = {
      id: '01J0000000000000000000000A',
      url: 'https://example.com/hook',
      events: ['*'],
      description: '',
      secret: 's',
      createdAt: '2026-01-01T00:00:00.000Z',
      createdBy: 'admin',
      status: 'active',
    };
    const e = { id: 'e', type: 'alert.raised', at: '2026-01-01T00:00:00.000Z', data: {} };
    expect(webhookWants(w, e)).toBe(true);
    expect(webhookWants({ ...w, status: 'disabled' }, e)).toBe(false);
  });
});
