import { beforeEach, describe, expect, it } from 'vitest';
import { aliasTarget } from '../../../functions/core/registry/aliases.js';
import type { RegistryServices } from '../../../functions/core/registry/services.js';
import { expectCode } from '../../support/expect-code.js';
import { type MemoryRegistryStore, memoryRegistry } from '../../support/memory-stores.js';
import { tinyOnnxBase64 } from '../../support/onnx-fixtures.js';
import { alice } from '../../support/principals.js';

const b64 = tinyOnnxBase64;

describe('aliases', () => {
  let store: MemoryRegistryStore;
  let registry: RegistryServices;

  beforeEach(async () => {
    ({ store, registry } = memoryRegistry());
    await registry.models.create(alice, { name: 'churn' });
    for (const [version, content] of [
      ['1.0.0', 'a'],
      ['1.1.0', 'b'],
    ] as const) {
      await registry.artifacts.register(alice, 'churn', {
        version,
        artifact: { base64: b64(content) },
        framework: 'onnx',
        runtime: { type: 'lambda' },
      });
    }
  });

  it('points a named alias at a version, moves it, shows it on the model and audits each change', async () => {
    const set = await registry.aliases.set(alice, 'churn', 'champion', '1.0.0');
    expect(set).toEqual({ champion: '1.0.0', production: null, latest: '1.1.0' });
    await registry.aliases.set(alice, 'churn', 'challenger', '1.1.0');
    const moved = await registry.aliases.set(alice, 'churn', 'champion', '1.1.0');
    expect(moved).toEqual({ champion: '1.1.0', challenger: '1.1.0', production: null, latest: '1.1.0' });

    const model = await registry.models.get('churn');
    expect(aliasTarget(model, 'champion')).toBe('1.1.0');
    expect(aliasTarget(model, 'latest')).toBe('1.1.0');
    expect(aliasTarget(model, 'nobody')).toBeUndefined();
    expect((await registry.models.overview('churn')).aliases.challenger).toBe('1.1.0');

    const events = store.audits.filter((a) => a.action.startsWith('alias.'));
    expect(events.map((e) => [e.action, e.version, e.before, e.after])).toEqual([
      ['alias.set', '1.0.0', { alias: 'champion', version: null }, { alias: 'champion', version: '1.0.0' }],
      [
        'alias.set',
        '1.1.0',
        { alias: 'challenger', version: null },
        { alias: 'challenger', version: '1.1.0' },
      ],
      [
        'alias.set',
        '1.1.0',
        { alias: 'champion', version: '1.0.0' },
        { alias: 'champion', version: '1.1.0' },
      ],
    ]);
    // Setting an alias to where it already points changes nothing and records nothing.
    await registry.aliases.set(alice, 'churn', 'champion', '1.1.0');
    expect(store.audits.filter((a) => a.action.startsWith('alias.'))).toHaveLength(3);
  });

  it('removes an alias, audited; removing one that does not exist is not_found', async () => {
    await registry.aliases.set(alice, 'churn', 'champion', '1.0.0');
    expect(await registry.aliases.remove(alice, 'churn', 'champion')).toEqual({
      production: null,
      latest: '1.1.0',
    });
    const last = store.audits.at(-1)!;
    expect([last.action, last.version, last.before]).toEqual([
      'alias.delete',
      '1.0.0',
      { alias: 'champion', version: '1.0.0' },
    ]);
    await expectCode(registry.aliases.remove(alice, 'churn', 'champion'), 'not_found');
  });

  it('refuses the managed aliases, malformed names, unknown versions and versions that cannot serve', async () => {
    const prod = await expectCode(
      registry.aliases.set(alice, 'churn', 'production', '1.0.0'),
      'validation_failed',
    );
    expect(prod.message).toMatch(/promotion/);
    await expectCode(registry.aliases.set(alice, 'churn', 'latest', '1.0.0'), 'validation_failed');
    await expectCode(registry.aliases.remove(alice, 'churn', 'production'), 'validation_failed');
    await expectCode(registry.aliases.set(alice, 'churn', 'Champion', '1.0.0'), 'validation_failed');
    await expectCode(registry.aliases.set(alice, 'churn', '1.0.0', '1.0.0'), 'validation_failed');
    await expectCode(registry.aliases.set(alice, 'churn', 'champion', '9.9.9'), 'not_found');
    await expectCode(registry.aliases.set(alice, 'nope', 'champion', '1.0.0'), 'not_found');

    const { version } = await registry.artifacts.register(alice, 'churn', {
      version: '2.0.0',
      artifact: { upload: true },
      sha256: 'a'.repeat(64),
      framework: 'onnx',
      runtime: { type: 'lambda' },
    });
    expect(version.status).toBe('pending');
    const pending = await expectCode(registry.aliases.set(alice, 'churn', 'champion', '2.0.0'), 'conflict');
    expect(pending.details).toMatchObject({ status: 'pending' });
    expect(store.audits.filter((a) => a.action.startsWith('alias.'))).toHaveLength(0);
  });

  it('keeps both of two concurrent alias writes (revision-guarded, retried)', async () => {
    await Promise.all([
      registry.aliases.set(alice, 'churn', 'champion', '1.0.0'),
      registry.aliases.set(alice, 'churn', 'challenger', '1.1.0'),
      registry.aliases.set(alice, 'churn', 'shadow', '1.1.0'),
    ]);
    const model = await registry.models.get('churn');
    expect(model.aliases).toEqual({ champion: '1.0.0', challenger: '1.1.0', shadow: '1.1.0' });
  });
});
