/**
 * The inference function loads onnxruntime when it is built (at a Lambda's init), so that a cold
 * start's first request does not load it after its DynamoDB and S3 reads
 * (functions/adapters/onnx-runner.ts, preload). Each case runs in a fresh process: this one has
 * loaded onnxruntime already.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { placeholderResourceEnv } from '../../support/placeholder-env.js';

/**
 * What `script` reports (its `report(value)`), run as an ES module in a fresh Node process with
 * tsx and the placeholder environment of a function.
 */
function inFreshProcess<T>(script: string): T {
  const env = { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', ...placeholderResourceEnv() };
  const reporter = `const report = (value) => { process.stdout.write('\\n' + JSON.stringify(value)); process.exit(0); };`;
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', `${reporter}\n${script}`],
    { env, cwd: process.cwd() },
  );
  return JSON.parse(String(out).trim().split('\n').pop() as string) as T;
}

/** Whether onnxruntime-node's native binding is loaded, polled for up to `waitMs` after `setup`. */
function bindingLoadedAfter(setup: string, waitMs = 10_000): { before: boolean; after: boolean } {
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    const loaded = () => Object.keys(require.cache).some((p) => p.includes('onnxruntime-node') && p.endsWith('binding.js'));
    const before = loaded();
    ${setup}
    const until = Date.now() + ${waitMs};
    while (!loaded() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    report({ before, after: loaded() });`;
  return inFreshProcess(script);
}

/** Whether onnxruntime's environment is created (initOrtOnce called) within `waitMs` after `setup`. */
function environmentCreatedAfter(setup: string, waitMs = 10_000): boolean {
  // The binding is required here, before the preload's microtask runs, so that its native
  // initOrtOnce can be watched: the preload then finds the same module in require's cache.
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    ${setup}
    const native = require('onnxruntime-node/dist/binding.js').binding;
    const initOrtOnce = native.initOrtOnce;
    let created = false;
    native.initOrtOnce = (...args) => { created = true; return initOrtOnce.apply(native, args); };
    const until = Date.now() + ${waitMs};
    while (!created && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    report(created);`;
  return inFreshProcess(script);
}

/**
 * The sessions onnxruntime's native binding creates within `waitMs` after `setup`, each with the
 * size of the model it loads and whether it ran and was disposed, in order.
 */
function sessionsAfter(setup: string, waitMs = 10_000): { bytes: number; runs: number; disposed: boolean }[] {
  // As above: the binding is required before the preload's microtask runs, and its session class
  // wrapped so that every session the preload makes through it is seen.
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    ${setup}
    const native = require('onnxruntime-node/dist/binding.js').binding;
    const sessions = [];
    const Native = native.InferenceSession;
    native.InferenceSession = class extends Native {
      constructor() { super(); this.seen = { bytes: 0, runs: 0, disposed: false }; sessions.push(this.seen); }
      loadModel(buffer, offset, length, options) { this.seen.bytes = length; return super.loadModel(buffer, offset, length, options); }
      run(...args) { this.seen.runs++; return super.run(...args); }
      dispose() { this.seen.disposed = true; return super.dispose(); }
    };
    const until = Date.now() + ${waitMs};
    while (!sessions.some((s) => s.disposed) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    report(sessions);`;
  return inFreshProcess(script);
}

/** What the inference function's init builds: its wiring, which preloads onnxruntime. */
const BUILD_INFERENCE = `
  const { inferenceWiring } = await import('./functions/handlers/inference-wiring.ts');
  inferenceWiring(process.env);`;
/** The runner alone, as the registry builds it for validation: no preload. */
const BUILD_RUNNER_ALONE = `
  const { OnnxRuntimeRunner } = await import('./functions/adapters/onnx-runner.ts');
  new OnnxRuntimeRunner();`;

describe('onnxruntime preload', () => {
  it('makes, runs once and disposes one session of the 114-byte prime model, before any request', () => {
    expect(sessionsAfter(BUILD_INFERENCE)).toEqual([{ bytes: 114, runs: 1, disposed: true }]);
  }, 30_000);

  it("also creates onnxruntime's environment, which the first session would otherwise create", () => {
    expect(environmentCreatedAfter(BUILD_INFERENCE)).toBe(true);
    // The same watch sees nothing when only the runner is built.
    expect(environmentCreatedAfter(BUILD_RUNNER_ALONE, 1_000)).toBe(false);
  }, 30_000);

  it('starts when the inference function is built, before any request', () => {
    expect(bindingLoadedAfter(BUILD_INFERENCE)).toEqual({ before: false, after: true });
  }, 30_000);

  it('is not started by building the runner alone (the registry bundles it for validation)', () => {
    expect(bindingLoadedAfter(BUILD_RUNNER_ALONE, 1_000)).toEqual({ before: false, after: false });
  }, 30_000);
});
