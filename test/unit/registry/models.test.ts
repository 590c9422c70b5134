import { describe, expect, it } from 'vitest';
import type { RegistryServices } from '../../../functions/core/registry/services.js';
import { expectCode } from '../../support/expect-code.js';
import { memoryRegistry } from '../../support/memory-stores.js';
import { tinyOnnxBase64 } from '../../support/onnx-fixtures.js';
import { alice, bob } from '../../support/principals.js';

function services() {
  const { store, registry } = memoryRegistry();
  return { store, registry };
}

const register = (registry: RegistryServices, version: string) =>
  registry.artifacts.register(alice, 'churn', {
    version,
    artifact: { base64: tinyOnnxBase64(`bytes-${version}`) },
    framework: 'onnx',
    runtime: { type: 'lambda' },
  });

describe('Models.overview', () => {
  it('groups every version by stage, beyond one page of versions, and names the aliases', async () => {
    const { registry } = services();
    await registry.models.create(alice, { name: 'churn' });
    // More versions than one page of the store holds, so the overview must follow the cursor.
    for (let minor = 0; minor < 105; minor++) await register(registry, `1.${minor}.0`);
    for (const stage of ['testing', 'staging'] as const) {
      await registry.lifecycle.transition(alice, 'churn', '1.3.0', stage);
    }
    await registry.lifecycle.decideApproval(bob, 'churn', '1.3.0', 'approved', 'ok');
    await registry.lifecycle.transition(bob, 'churn', '1.3.0', 'production');
    await registry.lifecycle.transition(alice, 'churn', '1.104.0', 'testing');
    await registry.lifecycle.transition(alice, 'churn', '1.0.0', 'archived');

    const overview = await registry.models.overview('churn');

    expect(overview.model.name).toBe('churn');
    expect(Object.keys(overview.versionsByStage)).toEqual([
      'draft',
      'testing',
      'staging',
      'production',
      'archived',
    ]);
    expect(overview.versionsByStage.production).toEqual(['1.3.0']);
    expect(overview.versionsByStage.testing).toEqual(['1.104.0']);
    expect(overview.versionsByStage.staging).toEqual([]);
    expect(overview.versionsByStage.archived).toEqual(['1.0.0']);
    expect(overview.versionsByStage.draft).toHaveLength(102);
    expect(overview.versionsByStage.draft).toContain('1.103.0');
    expect(overview.aliases).toEqual({ production: '1.3.0', latest: '1.104.0' });
  });

  it('names no aliases for a model without versions, and refuses an unknown model', async () => {
    const { registry } = services();
    await registry.models.create(alice, { name: 'churn' });
    const overview = await registry.models.overview('churn');
    expect(overview.aliases).toEqual({ production: null, latest: null });
    expect(Object.values(overview.versionsByStage).flat()).toEqual([]);
    await expectCode(registry.models.overview('nope'), 'not_found');
  });
});
