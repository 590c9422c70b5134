/**
 * The per-prefix bucket grants of BINDINGS against the keys the code really builds: each key a
 * function writes is granted to it (or it would fail on AWS with AccessDenied, where the local
 * stand-in grants everything), and the keys of other functions are not. The stack grants exactly
 * these patterns (test/infra/serval-stack.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { S3Captures } from '../../functions/adapters/s3-captures.js';
import { keyMatches } from '../../functions/contract/artifact-keys.js';
import { BINDINGS, type FunctionId, type ObjectAccess } from '../../functions/contract/resources.js';
import { MonitoringService } from '../../functions/core/monitoring/service.js';
import type { RegistryServices } from '../../functions/core/registry/services.js';
import { expectCode } from '../support/expect-code.js';
import { CountingIds, memoryRegistry, SteppingClock } from '../support/memory-stores.js';
import { tinyOnnxBase64 } from '../support/onnx-fixtures.js';
import { root } from '../support/principals.js';

const FNS = Object.keys(BINDINGS) as FunctionId[];

function may(fn: FunctionId, access: ObjectAccess, key: string): boolean {
  const objects = BINDINGS[fn].buckets?.artifacts?.objects ?? {};
  return Object.entries(objects).some(
    ([pattern, accesses]) => accesses.includes(access) && keyMatches(pattern, key),
  );
}

/** The functions granted `access` on `key`. */
function granted(access: ObjectAccess, key: string): FunctionId[] {
  return FNS.filter((fn) => may(fn, access, key)).sort();
}

/** An S3 client stand-in that records the keys of the commands sent to it. */
function recordingS3(listed: string[] = []) {
  const sent: { command: string; key?: string }[] = [];
  const client = {
    send: async (command: { constructor: { name: string }; input: { Key?: string } }) => {
      sent.push({ command: command.constructor.name, key: command.input.Key });
      if (command.constructor.name === 'ListObjectsV2Command') {
        return { Contents: listed.map((Key) => ({ Key })), IsTruncated: false };
      }
      return {};
    },
  };
  return { client: client as never, sent };
}

/** A model `churn` with one inline version: the registry's writes the tests below look at. */
async function withOneVersion(registry: RegistryServices): Promise<void> {
  await registry.models.create(root, { name: 'churn', description: 'd', tags: {} });
  await registry.artifacts.register(root, 'churn', {
    artifact: { base64: tinyOnnxBase64('a') },
    framework: 'onnx',
    runtime: { type: 'lambda' },
  });
}

describe('bucket grants cover exactly the keys each function writes', () => {
  it('model artifacts: the registry (and the retrain and online workers, registering candidates and snapshots) writes and deletes them; the registry tags them; inference and the integrity worker read them, and monitoring (enabling online learning checks the kind of the production model)', async () => {
    const { artifacts, registry } = memoryRegistry();
    await withOneVersion(registry);
    const [key] = [...artifacts.objects.keys()];
    expect(key).toBeDefined();
    expect(granted('write', key!)).toEqual(['onlineWorker', 'registry', 'retrainWorker']);
    expect(granted('delete', key!)).toEqual(['onlineWorker', 'registry', 'retrainWorker']);
    expect(granted('tag', key!)).toEqual(['integrityWorker', 'registry']);
    expect(granted('read', key!)).toEqual([
      'inference',
      'integrityWorker',
      'monitoring',
      'onlineWorker',
      'registry',
      'retrainWorker',
    ]);
  });

  it('capture files: the capture worker writes them (inference too, when the queue fails); drift checks and retraining datasets read them', async () => {
    const { client, sent } = recordingS3();
    const captures = new S3Captures(client, 'serval-artifacts');
    const keys = await captures.writeCaptures(
      'churn',
      [{ at: '2026-03-01T10:15:00.000Z', version: '1.0.0', instance: [1] }],
      'msg-1',
    );
    expect(sent.map((s) => s.key)).toEqual(keys);
    for (const key of keys) {
      expect(granted('write', key)).toEqual(['captureWorker', 'inference']);
      expect(granted('read', key)).toEqual(['driftWorker', 'monitoring', 'retrainWorker']);
      expect(granted('delete', key)).toEqual([]);
    }
  });

  it('sketches: drift checks write them, the capture worker cannot overwrite them', () => {
    const captures = new S3Captures(recordingS3().client, 'serval-artifacts');
    const key = captures.sketchKey(
      'churn',
      { version: '1.0.0', hourStart: '2026-03-01T10:00:00.000Z', keys: [] },
      '01HBASELINE',
    );
    expect(granted('write', key)).toEqual(['driftWorker', 'monitoring']);
    expect(granted('read', key)).toEqual(['driftWorker', 'monitoring']);
  });

  it('a file a sketch writer could plant below an hour is not read as captured data', async () => {
    const hour = 'captures/churn/1.0.0/2026-03-01/10/';
    const planted = `${hour}_sketches/fake.jsonl.gz`;
    // The one place a sketch writer can write under captures/ ...
    expect(granted('write', `${hour}_sketches/fake.json`)).toEqual(['driftWorker', 'monitoring']);
    const { client } = recordingS3([`${hour}real.jsonl.gz`, planted, `${hour}_sketches/b.json`]);
    const partitions = await new S3Captures(client, 'serval-artifacts').partitions(
      'churn',
      ['1.0.0'],
      new Date('2026-03-01T10:00:00Z'),
      new Date('2026-03-01T11:00:00Z'),
    );
    // ... and nothing below the hour counts as data, whatever its name.
    expect(partitions.flatMap((p) => p.keys)).toEqual([`${hour}real.jsonl.gz`]);
  });

  it('baseline profiles: monitoring writes them, the drift worker and inference (explanations) read them', async () => {
    const { store, registry } = memoryRegistry();
    await withOneVersion(registry);
    const written: string[] = [];
    const none = async () => {
      throw new Error('not used');
    };
    const service = new MonitoringService({
      store: {
        getPolicy: async () => undefined,
        putPolicy: async () => {},
        putBaseline: async () => {},
      } as never,
      docs: { putJson: async (k) => void written.push(k), getJson: none },
      captures: { partitions: none, rows: async function* () {}, sketchKey: () => '' },
      datasets: { rows: async function* () {} },
      registry: store,
      clock: new SteppingClock(),
      ids: new CountingIds(),
    });
    await service.putBaseline(root, 'churn', {
      rows: [
        [1, 2, 3],
        [2, 3, 4],
        [3, 4, 5],
      ],
    });
    expect(written).toHaveLength(1);
    expect(granted('write', written[0]!)).toEqual(['monitoring']);
    expect(granted('read', written[0]!)).toEqual(['driftWorker', 'inference', 'monitoring']);
  });
});

describe('datasets are read from datasets/ only', () => {
  it('the registry refuses a dataset elsewhere in its bucket (400), before reading it', async () => {
    const { artifacts, registry } = memoryRegistry();
    const alice = { id: 'alice', name: 'Alice', role: 'admin' as const };
    await registry.models.create(alice, { name: 'churn', description: 'd', tags: {} });
    const first = await registry.artifacts.register(alice, 'churn', {
      artifact: { base64: tinyOnnxBase64('a') },
      framework: 'onnx',
      runtime: { type: 'lambda' },
    });
    const modelKey = first.version.artifact.key;
    expect(artifacts.objects.has(modelKey)).toBe(true);
    await expectCode(
      registry.artifacts.register(alice, 'churn', {
        artifact: { base64: tinyOnnxBase64('b') },
        framework: 'onnx',
        runtime: { type: 'lambda' },
        dataset: { uri: `s3://serval-artifacts/${modelKey}` },
      }),
      'validation_failed',
    );
    expect(granted('read', 'datasets/churn/train.csv')).toEqual([
      'monitoring',
      'registry',
      'retrainWorker',
      'trialWorker',
    ]);
  });

  it('a baseline cannot be built from captured predictions or artifacts (400), before reading them', async () => {
    const { client, sent } = recordingS3();
    const datasets = new S3Captures(client, 'serval-artifacts').datasets();
    for (const key of ['captures/churn/1.0.0/2026-03-01/10/x.jsonl.gz', 'models/churn/1.0.0/01HX']) {
      const rows = datasets.rows(`s3://serval-artifacts/${key}`)[Symbol.asyncIterator]();
      await expectCode(rows.next(), 'validation_failed');
    }
    expect(sent).toEqual([]);
  });
});
