import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ServalEventSchema } from '../../../functions/contract/messages.js';
import { PENDING_UPLOAD_TTL_SECONDS } from '../../../functions/core/registry/artifacts.js';
import {
  LIFECYCLE_EVENT_TYPES,
  type LifecycleEvent,
  type LifecycleEventSink,
} from '../../../functions/core/registry/events.js';
import { KNOWN_EVENT_TYPES } from '../../../functions/core/webhooks/types.js';
import { memoryRegistry } from '../../support/memory-stores.js';
import { tinyOnnx, tinyOnnxBase64, uploadRegistration } from '../../support/onnx-fixtures.js';
import { alice, bob, root } from '../../support/principals.js';

function setup(sink: LifecycleEventSink, warnings: string[] = []) {
  const { store, artifacts, clock, registry } = memoryRegistry({
    events: sink,
    log: { warn: (message) => warnings.push(message) },
  });
  const register = (version: string, content = `bytes-${version}`) =>
    registry.artifacts.register(alice, 'churn', {
      version,
      artifact: { base64: tinyOnnxBase64(content) },
      framework: 'onnx',
      runtime: { type: 'lambda' },
    });
  const staged = async (version: string) => {
    await register(version);
    await registry.lifecycle.transition(alice, 'churn', version, 'testing');
    await registry.lifecycle.transition(alice, 'churn', version, 'staging');
    await registry.lifecycle.decideApproval(bob, 'churn', version, 'approved', 'ok');
  };
  return { store, artifacts, clock, registry, register, staged };
}

describe('lifecycle events', () => {
  it('announces every registry change after it is committed, one event per audit event', async () => {
    const published: LifecycleEvent[] = [];
    const { store, artifacts, clock, registry, register, staged } = setup({
      publish: async (e) => {
        published.push(e);
      },
    });
    await registry.models.create(alice, { name: 'churn' });
    await registry.models.update(alice, 'churn', { description: 'who leaves' });
    await staged('1.0.0');
    await registry.lifecycle.transition(bob, 'churn', '1.0.0', 'production');
    await staged('2.0.0');
    await registry.lifecycle.transition(bob, 'churn', '2.0.0', 'production');
    await registry.lifecycle.rollback(bob, 'churn');
    await registry.aliases.set(alice, 'churn', 'champion', '1.0.0');
    await registry.aliases.remove(alice, 'churn', 'champion');
    await register('3.0.0');
    await registry.lifecycle.decideApproval(bob, 'churn', '3.0.0', 'rejected', 'no');
    await registry.validation.record(alice, 'churn', '3.0.0', { passed: true });
    const upload = (version: string, bytes: Uint8Array) =>
      registry.artifacts.register(alice, 'churn', uploadRegistration(bytes, version));
    await upload('4.0.0', tinyOnnx('uploaded'));
    const pending = await store.getVersion('churn', '4.0.0');
    await artifacts.put(pending!.artifact.key, new TextEncoder().encode('not what was declared'));
    await registry.artifacts.completeUpload(alice, 'churn', '4.0.0').catch(() => undefined);
    await artifacts.put(pending!.artifact.key, tinyOnnx('uploaded'));
    await registry.artifacts.completeUpload(alice, 'churn', '4.0.0');
    // An upload whose checksum matches but which is no model at all.
    const junk = new TextEncoder().encode('no model at all');
    await upload('4.1.0', junk);
    await artifacts.put((await store.getVersion('churn', '4.1.0'))!.artifact.key, junk);
    await registry.artifacts.completeUpload(alice, 'churn', '4.1.0').catch(() => undefined);
    await registry.models.updateVersion(alice, 'churn', '4.0.0', { description: 'second upload' });
    await registry.deletions.deleteVersion(root, 'churn', '4.0.0');
    await upload('4.2.0', tinyOnnx('abandoned'));
    clock.advance(PENDING_UPLOAD_TTL_SECONDS * 1000);
    expect(await registry.deletions.expireUpload(root, 'churn', '4.2.0')).toBe(true);
    await registry.models.create(alice, { name: 'old' });
    await registry.deletions.deleteModel(root, 'old');
    await registry.lifecycle.recordServingFailure(bob, 'churn', '1.0.0', 'load failed', '2.0.0');
    const v3 = await store.getVersion('churn', '3.0.0');
    await artifacts.put(v3!.artifact.key, new TextEncoder().encode('tampered'));
    await registry.artifacts.verify(bob, 'churn', '3.0.0').catch(() => undefined);

    expect(new Set(published.map((e) => e.type))).toEqual(new Set(LIFECYCLE_EVENT_TYPES));
    // The event is the audit event's announcement: same id, same time, and nothing unannounced.
    expect(published.map((e) => e.id)).toEqual(store.audits.map((a) => a.id));
    for (const e of published) expect(ServalEventSchema.safeParse(e).success).toBe(true);

    const rolledBack = published.find((e) => e.type === 'version.rolled_back')!;
    expect(rolledBack.data).toMatchObject({
      model: 'churn',
      version: '1.0.0',
      actor: { id: 'bob', name: 'Bob' },
      before: { productionVersion: '2.0.0' },
      after: { productionVersion: '1.0.0' },
    });
    const fallback = published.find((e) => e.type === 'version.serving_failed')!;
    expect(fallback.data).toMatchObject({ version: '1.0.0', after: { servedBy: '2.0.0' } });
    const corrupt = published.find((e) => e.type === 'version.integrity_failed')!;
    expect(corrupt.data).toMatchObject({ version: '3.0.0', after: { status: 'unusable' } });
  });

  it('keeps the change when publishing fails, and logs it', async () => {
    const warnings: string[] = [];
    const { store, registry } = setup(
      {
        publish: async () => {
          throw new Error('queue unreachable');
        },
      },
      warnings,
    );
    const model = await registry.models.create(alice, { name: 'churn' });
    expect(model.name).toBe('churn');
    expect(await store.getModel('churn')).toBeDefined();
    expect(store.audits.map((a) => a.action)).toEqual(['model.create']);
    expect(warnings).toEqual(['lifecycle event not published; the change stands']);
  });

  it('publishes nothing for a change that was refused', async () => {
    const published: LifecycleEvent[] = [];
    const { registry } = setup({ publish: async (e) => void published.push(e) });
    await registry.models.create(alice, { name: 'churn' });
    await registry.models.create(alice, { name: 'churn' }).catch(() => undefined);
    expect(published.map((e) => e.type)).toEqual(['model.created']);
  });
});

describe('docs/webhooks.md', () => {
  it('documents exactly the event types Serval emits', () => {
    const doc = readFileSync(new URL('../../../docs/webhooks.md', import.meta.url), 'utf8');
    const section = doc.slice(
      doc.indexOf('## Event types'),
      doc.indexOf('\n## ', doc.indexOf('## Event types') + 1),
    );
    const documented = [...section.matchAll(/^\| `([a-z_]+\.[a-z_.]+)` \|/gm)].map((m) => m[1]);
    expect(documented.length).toBeGreaterThan(0);
    expect(new Set(documented)).toEqual(new Set(KNOWN_EVENT_TYPES));
    expect(documented).toHaveLength(KNOWN_EVENT_TYPES.length);
  });
});
