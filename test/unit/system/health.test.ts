/**
 * The detailed health check serves the integrity sweep's recorded results (no artifact is read
 * for a viewer's call), with their age; only admins force a re-check, at most once a minute.
 */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../../functions/core/auth/principal.js';
import { type ArtifactChecks, Health, RECHECK_INTERVAL_MS } from '../../../functions/core/system/health.js';
import { domainError } from '../../support/expect-code.js';

const viewer: Principal = { id: 'v', name: 'v', role: 'viewer', via: 'key' };
const admin: Principal = { id: 'a', name: 'a', role: 'admin', via: 'key' };
const HOUR = 3_600_000;

function setup(recorded: Record<string, { status: string; lastVerifiedAt?: string }>) {
  let t = Date.parse('2026-06-01T12:00:00Z');
  const checks: string[] = [];
  const artifacts: ArtifactChecks = {
    async *productionVersions() {
      for (const key of Object.keys(recorded)) {
        const [model, version] = key.split('@') as [string, string];
        yield { model, version };
      }
    },
    check: async (model, version) => {
      checks.push(`${model}@${version}`);
      return { ok: true, actual: 'x' };
    },
    lastVerification: async (model, version) => recorded[`${model}@${version}`]!,
  };
  const health = new Health({
    probes: { probeAll: async () => [{ name: 'table:registry', kind: 'dynamodb', ok: true, latencyMs: 1 }] },
    artifacts,
    clock: { now: () => new Date(t) },
    maxVerificationAgeMs: 3 * HOUR,
  });
  return { health, checks, advance: (ms: number) => (t += ms) };
}

const at = (iso: string) => ({ status: 'ready', lastVerifiedAt: iso });

describe('Health.detailed', () => {
  it("serves the sweep's recorded results with their age, reading no artifact", async () => {
    const { health, checks } = setup({ 'churn@1.0.0': at('2026-06-01T11:30:00.000Z') });
    const report = await health.detailed(viewer);
    expect(checks).toEqual([]);
    expect(report).toMatchObject({ status: 'ok', artifactsFrom: 'sweep' });
    expect(report.productionArtifacts).toEqual([
      {
        model: 'churn',
        version: '1.0.0',
        ok: true,
        status: 'ready',
        lastVerifiedAt: '2026-06-01T11:30:00.000Z',
        ageSeconds: 1800,
        stale: false,
      },
    ]);
  });

  it('is degraded when the sweep found a mismatch, or has not verified a version for too long', async () => {
    const unusable = setup({
      'churn@1.0.0': { status: 'unusable', lastVerifiedAt: '2026-06-01T11:59:00.000Z' },
    });
    expect((await unusable.health.detailed(viewer)).status).toBe('degraded');
    const stale = setup({
      'churn@1.0.0': at('2026-06-01T08:00:00.000Z'),
      'fraud@2.0.0': { status: 'ready' },
    });
    const report = await stale.health.detailed(viewer);
    expect(report.status).toBe('degraded');
    expect(report.productionArtifacts.map((a) => [a.model, a.ok, a.stale])).toEqual([
      ['churn', false, true],
      ['fraud', false, true],
    ]);
  });

  it('lets only admins force a re-check, at most once a minute', async () => {
    const { health, checks, advance } = setup({ 'churn@1.0.0': at('2026-06-01T11:30:00.000Z') });
    await expect(health.detailed(viewer, { recheck: true })).rejects.toThrow(domainError('forbidden'));
    expect(checks).toEqual([]);
    const forced = await health.detailed(admin, { recheck: true });
    expect(forced).toMatchObject({ status: 'ok', artifactsFrom: 'recheck' });
    expect(checks).toEqual(['churn@1.0.0']);
    await expect(health.detailed(admin, { recheck: true })).rejects.toThrow(domainError('rate_limited'));
    // The sweep's results stay available meanwhile.
    expect((await health.detailed(admin)).artifactsFrom).toBe('sweep');
    advance(RECHECK_INTERVAL_MS);
    await health.detailed(admin, { recheck: true });
    expect(checks).toHaveLength(2);
  });
});
