/**
 * The onnxruntime-node layer (layers/onnxruntime/build.ts): small enough for Lambda, only the
 * target architecture's binaries, the versions of package-lock.json — and, built for this host,
 * still able to load and run a real model from the pruned directory alone, which is what proves
 * the pruning kept everything onnxruntime needs at runtime.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logisticRegressionOnnx } from '../../functions/core/onnx/models.js';
import {
  buildOnnxRuntimeLayer,
  ELF_MACHINE,
  elfMachine,
  LAYER_MODULES_DIR,
  type LayerArchitecture,
  type OnnxRuntimeLayerBuild,
} from '../../layers/onnxruntime/build.js';
import { PROJECT_ROOT } from '../../lib/constructs/serval-function.js';

const MB = 1_000_000;
/** The host's Lambda architecture, when it is Linux on one of Lambda's two. */
const HOST: LayerArchitecture | undefined =
  process.platform !== 'linux'
    ? undefined
    : process.arch === 'x64'
      ? 'x86_64'
      : process.arch === 'arm64'
        ? 'arm64'
        : undefined;

let tmp: string;
let arm64: OnnxRuntimeLayerBuild;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'serval-ort-layer-'));
  arm64 = buildOnnxRuntimeLayer({ architecture: 'arm64', outDir: join(tmp, 'arm64') });
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function filesOnDisk(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe('the arm64 layer', () => {
  it('is well under Lambda’s 250 MB: between 10 and 60 MB unzipped', () => {
    expect(arm64.reused).toBe(false);
    expect(arm64.unzippedBytes).toBeGreaterThan(10 * MB);
    expect(arm64.unzippedBytes).toBeLessThan(60 * MB);
  });

  it('holds exactly the files it reports, and their size is the reported size', () => {
    const files = filesOnDisk(arm64.dir);
    expect(files).toEqual([...arm64.files]);
    const bytes = files.reduce((sum, f) => sum + statSync(join(arm64.dir, f)).size, 0);
    expect(bytes).toBe(arm64.unzippedBytes);
  });

  it('has no darwin, win32 or x64 binaries: every native file is an AArch64 ELF under linux/arm64', () => {
    expect(arm64.files.filter((f) => /\/(darwin|win32|x64)\//.test(f))).toEqual([]);
    expect(arm64.files.filter((f) => /\.(dll|dylib|exe|lib|pdb)$/.test(f))).toEqual([]);
    const elf = arm64.files.filter((f) => elfMachine(join(arm64.dir, f)) !== undefined);
    expect(elf).toEqual([
      'nodejs/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/libonnxruntime.so.1',
      'nodejs/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/onnxruntime_binding.node',
    ]);
    for (const f of elf) expect(elfMachine(join(arm64.dir, f)), f).toBe(ELF_MACHINE.arm64);
  });

  it('carries the two runtime packages only, without install scripts, sources, types or maps', () => {
    const packages = new Set(arm64.files.map((f) => f.split('/')[2]));
    expect([...packages].sort()).toEqual(['onnxruntime-common', 'onnxruntime-node']);
    expect(arm64.files.every((f) => f.startsWith('nodejs/node_modules/'))).toBe(true);
    expect(arm64.files.filter((f) => /\/(script|lib)\//.test(f))).toEqual([]);
    expect(arm64.files.filter((f) => /\.(ts|map)$/.test(f))).toEqual([]);
  });

  it('copies the versions package-lock.json pins', () => {
    const lock = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version: string }>;
    };
    for (const name of ['onnxruntime-node', 'onnxruntime-common'] as const) {
      expect(arm64.versions[name]).toBe(lock.packages[`node_modules/${name}`]?.version);
      const pkg = JSON.parse(
        readFileSync(join(arm64.dir, LAYER_MODULES_DIR, name, 'package.json'), 'utf8'),
      ) as { version: string };
      expect(pkg.version).toBe(arm64.versions[name]);
    }
  });

  it('a second build into a current directory copies nothing; a stale one is rebuilt', () => {
    const again = buildOnnxRuntimeLayer({ architecture: 'arm64', outDir: arm64.dir });
    expect(again.reused).toBe(true);
    expect(again.files).toEqual(arm64.files);

    const dir = join(tmp, 'stale');
    buildOnnxRuntimeLayer({ architecture: 'arm64', outDir: dir });
    writeFileSync(join(dir, LAYER_MODULES_DIR, 'stray.js'), '');
    const rebuilt = buildOnnxRuntimeLayer({ architecture: 'arm64', outDir: dir });
    expect(rebuilt.reused).toBe(false);
    expect(filesOnDisk(dir)).toEqual([...arm64.files]);
  });
});

describe.runIf(HOST !== undefined)(`built for this host (${HOST})`, () => {
  it('loads from the pruned directory alone and runs a real ONNX model', () => {
    const host =
      HOST === 'arm64' ? arm64 : buildOnnxRuntimeLayer({ architecture: HOST!, outDir: join(tmp, 'host') });
    expect(host.unzippedBytes).toBeLessThan(60 * MB);

    // A 4-feature logistic regression, written by Serval's own ONNX writer.
    const weights = [0.5, -1, 2, 0.25];
    const bias = -0.3;
    const rows = [
      [1, 2, 0.5, -1],
      [0, 0, 0, 0],
      [-2, 1, 3, 4],
    ];
    const work = join(tmp, 'probe');
    mkdirSync(work, { recursive: true });
    writeFileSync(join(work, 'model.onnx'), logisticRegressionOnnx({ weights, bias }));

    // As on Lambda: the handler imports the bare name and Node finds it in nodejs/node_modules.
    // The probe sits in the layer's nodejs/ directory, far from this repository's node_modules.
    const probe = join(host.dir, 'nodejs', 'probe.mjs');
    writeFileSync(
      probe,
      `import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { InferenceSession, Tensor } from 'onnxruntime-node';
const require = createRequire(import.meta.url);
const ort = require.resolve('onnxruntime-node');
const common = createRequire(ort).resolve('onnxruntime-common');
const [model, rows] = [process.argv[2], JSON.parse(process.argv[3])];
const session = await InferenceSession.create(readFileSync(model), { intraOpNumThreads: 1 });
const input = new Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0].length]);
const out = await session.run({ [session.inputNames[0]]: input });
// The native session the adapter runs directly (functions/adapters/onnx-runner.ts).
const bindingPath = require.resolve('onnxruntime-node/dist/binding.js');
const native = require(bindingPath);
native.initOrt();
const direct = new native.binding.InferenceSession();
const bytes = readFileSync(model);
direct.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, { intraOpNumThreads: 1 });
const directOut = direct.run({ input }, { probabilities: null }, {});
console.log(JSON.stringify({
  resolved: [ort, common, bindingPath],
  direct: Array.from(directOut.probabilities.data),
  inputs: session.inputNames,
  outputs: session.outputNames,
  label: Array.from(out.label.data, Number),
  probabilities: Array.from(out.probabilities.data),
}));
`,
    );
    let stdout: string;
    try {
      stdout = execFileSync(process.execPath, [probe, join(work, 'model.onnx'), JSON.stringify(rows)], {
        cwd: work,
        // Nothing inherited that could point Node elsewhere (NODE_PATH, loaders in NODE_OPTIONS).
        env: { PATH: process.env.PATH ?? '' },
        encoding: 'utf8',
        timeout: 60_000,
      });
    } finally {
      rmSync(probe, { force: true });
    }
    const result = JSON.parse(stdout) as {
      resolved: string[];
      direct: number[];
      inputs: string[];
      outputs: string[];
      label: number[];
      probabilities: number[];
    };
    for (const path of result.resolved) expect(path.startsWith(`${host.dir}/`), path).toBe(true);
    expect(result.inputs).toEqual(['input']);
    expect(result.outputs.sort()).toEqual(['label', 'probabilities']);

    const p1 = rows.map((r) => 1 / (1 + Math.exp(-(r.reduce((s, x, i) => s + x * weights[i]!, 0) + bias))));
    expect(result.label).toEqual(p1.map((p) => (p > 0.5 ? 1 : 0)));
    expect(result.probabilities).toHaveLength(rows.length * 2);
    expect(result.direct).toEqual(result.probabilities);
    p1.forEach((p, i) => {
      expect(result.probabilities[2 * i]).toBeCloseTo(1 - p, 5);
      expect(result.probabilities[2 * i + 1]).toBeCloseTo(p, 5);
    });
  });
});
