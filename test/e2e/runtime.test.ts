/**
 * `npm start` as a user meets it: what it prints and writes, that a restart keeps the data, and
 * that the things that go wrong on a laptop (second start, busy port, damaged data dir, no Java)
 * end in one clear sentence and a non-zero exit. Also how it ends: a SIGTERM to npm stops it
 * gracefully, a SIGKILL takes the JVM along, a dead JVM is restarted, and nothing listens beyond
 * 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exposedListeners, freePort } from '../../local/ports.js';
import { dynamoDbLocalDir } from '../../local/services/dynamodb.js';
import { tinyOnnx, tinyOnnxBase64 } from '../support/onnx-fixtures.js';
import { processAlive } from '../support/processes.js';
import { apiClient, startProcess, startServal, waitFor } from '../support/serval-process.js';

function javaProcessesUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes('DynamoDBLocal') && cmd.includes(dir)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

async function failedStart(dataDir: string, port: number, env: Record<string, string> = {}) {
  const { output, exited } = startProcess({ dataDir, port, env });
  const code = await exited;
  return { code, output: output() };
}

describe('npm start', () => {
  it('prints its services and key, keeps data across a restart, and stops its children', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'serval-rt-'));
    const first = await startServal({ dataDir });
    const out = first.output();
    for (const line of [
      'dynamodb',
      's3',
      'sqs',
      'api',
      'worker',
      'schedule',
      'admin key',
      'Serval is ready',
    ]) {
      expect(out).toContain(line);
    }
    // README shows the banner as it is: the same lines in the same order, told apart by what
    // comes before their ports and paths (the Node note depends on the machine).
    const shape = (line: string) =>
      line
        .replace(/https?:\/\/127\.0\.0\.1:\d+/g, 'URL')
        .replace(/\/\S*\.serval|\S*serval-rt-\w+/g, 'DATA')
        .replace(/svl_\S+/g, 'KEY')
        .replace(/ready in [\d.]+ s/, 'ready in N s')
        .replace(/\s+/g, ' ')
        .trim();
    const banner = (text: string) => {
      const from = text.indexOf('Serval — starting the local platform');
      const to = text.indexOf('Press Ctrl-C to stop.', from);
      return text
        .slice(from, to + 'Press Ctrl-C to stop.'.length)
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('note '))
        .map(shape);
    };
    expect(banner(readFileSync('README.md', 'utf8'))).toEqual(banner(out));
    // The AWS SDK's eight-line warning about Node 20 becomes one line of the banner.
    expect(out).not.toContain('NodeVersionSupportWarning');
    if (Number(process.versions.node.split('.')[0]) < 22) {
      expect(out).toContain(`note      Node ${process.version}: the AWS SDK's releases after`);
    }
    // The output here is a pipe, as a log or CI would be: the key is masked, with where it is.
    expect(out).not.toContain(first.adminKey);
    expect(out).toContain(`admin key  ${first.adminKey.slice(0, 8)}…${first.adminKey.slice(-4)}`);
    expect(out).toContain('shown whole only on a terminal');
    expect(statSync(join(dataDir, 'admin-key')).mode & 0o777).toBe(0o600);
    const endpoints = JSON.parse(readFileSync(join(dataDir, 'endpoints.json'), 'utf8'));
    expect(endpoints.endpoints.dynamodb).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Object.keys(endpoints.tables).sort()).toEqual([
      'audit',
      'experiments',
      'idempotency',
      'jobs',
      'keys',
      'monitoring',
      'predictions',
      'registry',
      'settings',
    ]);
    expect(endpoints.queues.integrity.dlqUrl).toContain('dlq');
    expect(endpoints.queues.captures.dlqUrl).toContain('dlq');
    expect(endpoints.endpoints.sagemaker).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const api = apiClient(first.url, first.adminKey);
    expect((await api('POST', '/v1/models', { name: 'keepme' })).status).toBe(201);
    expect(
      (
        await api('POST', '/v1/models/keepme/versions', {
          artifact: { base64: tinyOnnxBase64('w') },
        })
      ).status,
    ).toBe(201);

    // A second runtime on the same data would corrupt it: refused, the first keeps running.
    const second = await failedStart(dataDir, await freePort());
    expect(second.code).not.toBe(0);
    expect(second.output).toContain('already running');
    expect((await api('GET', '/v1/models/keepme')).status).toBe(200);

    expect(javaProcessesUsing(dataDir).length).toBe(1);
    expect(await first.stop()).toBe(0);
    expect(javaProcessesUsing(dataDir)).toEqual([]);

    const again = await startServal({ dataDir });
    try {
      expect(again.adminKey).toBe(first.adminKey);
      expect(again.output()).toContain('from an earlier start');
      const api2 = apiClient(again.url, again.adminKey);
      const model = await api2('GET', '/v1/models/keepme');
      expect(model.body).toMatchObject({ name: 'keepme', latestVersion: '1.0.0', versionCount: 1 });
      expect((await api2('POST', '/v1/models/keepme/versions/1.0.0/verify')).status).toBe(200);
    } finally {
      await again.stop();
    }
  }, 120_000);

  it('answers a readiness probe that polls from the first moment, and becomes ready regardless', async () => {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'serval-rt-'));
    const { child, output, exited } = startProcess({ dataDir, port });
    // Also a client that connects early and never sends anything, as a half-open probe would.
    const idle: Socket[] = [];
    const statuses: number[] = [];
    try {
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline && child.exitCode === null) {
        if (idle.length === 0) {
          const s = connect(port, '127.0.0.1');
          s.on('error', () => {});
          s.on('connect', () => idle.push(s));
        }
        try {
          const res = await fetch(`http://127.0.0.1:${port}/v1/health`, {
            signal: AbortSignal.timeout(5_000),
          });
          statuses.push(res.status);
          await res.arrayBuffer();
          if (res.status === 200) break;
        } catch (err) {
          // Refused before the port is held, or between the hold and the API: a probe retries.
          // A probe left hanging past its 5 s timeout is the failure this test exists for.
          expect((err as Error).name).not.toBe('TimeoutError');
        }
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(statuses.at(-1)).toBe(200);
      expect(statuses.every((s) => s === 503 || s === 200)).toBe(true);
      expect(statuses).toContain(503);
      const ready = Date.now() + 30_000;
      while (!output().includes('Press Ctrl-C to stop.') && Date.now() < ready) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(output()).toContain('Serval is ready');
    } finally {
      for (const s of idle) s.destroy();
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    }
  }, 120_000);

  it('says so when the port is busy', async () => {
    const blocker = createServer();
    const port = await new Promise<number>((ok) =>
      blocker.listen(0, '127.0.0.1', () => ok((blocker.address() as { port: number }).port)),
    );
    try {
      const res = await failedStart(mkdtempSync(join(tmpdir(), 'serval-rt-')), port);
      expect(res.code).toBe(1);
      expect(res.output).toContain(`Port ${port}`);
      expect(res.output).toContain('already in use');
      expect(res.output).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      blocker.close();
    }
  }, 60_000);

  it('refuses a damaged or foreign data directory', async () => {
    const damaged = mkdtempSync(join(tmpdir(), 'serval-rt-'));
    writeFileSync(join(damaged, 'serval.json'), '{"format": 1, "pref');
    const a = await failedStart(damaged, await freePort());
    expect(a.code).toBe(1);
    expect(a.output).toContain('damaged');

    const foreign = mkdtempSync(join(tmpdir(), 'serval-rt-'));
    mkdirSync(join(foreign, 'photos'));
    const b = await failedStart(foreign, await freePort());
    expect(b.code).toBe(1);
    expect(b.output).toContain('not a Serval data directory');
  }, 60_000);

  it('explains that Java is needed when it is missing', async () => {
    const res = await failedStart(mkdtempSync(join(tmpdir(), 'serval-rt-')), await freePort(), {
      PATH: '/nonexistent',
      JAVA_HOME: '',
    });
    expect(res.code).toBe(1);
    expect(res.output).toMatch(/Java 17/);
    expect(res.output).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('listens on 127.0.0.1 only, and a dead DynamoDB Local means 503 and a restart, never 401', async () => {
    const serval = await startServal();
    try {
      const [jvm] = javaProcessesUsing(serval.dataDir);
      expect(jvm).toBeDefined();
      // Every listening socket of the runtime and of its JVM, as the kernel reports them.
      expect(exposedListeners([serval.child.pid!, jvm!])).toEqual([]);
      const endpoints = JSON.parse(readFileSync(join(serval.dataDir, 'endpoints.json'), 'utf8'));
      const dynamoPort = Number(new URL(endpoints.endpoints.dynamodb).port);
      expect(listenersOn(dynamoPort).length).toBeGreaterThan(0);
      expect(listenersOn(dynamoPort).every((a) => a === '0100007F' || a.endsWith('0100007F'))).toBe(true);

      const api = apiClient(serval.url, serval.adminKey);
      expect((await api('GET', '/v1/models')).status).toBe(200);
      const logBefore = serval.output().length;
      process.kill(jvm!, 'SIGKILL');
      const seen: number[] = [];
      const health: number[] = [];
      let retryAfter: string | null = null;
      await waitFor(
        serval,
        'the API to answer 200 again after DynamoDB Local died',
        async () => {
          const [r, h] = await Promise.all([api('GET', '/v1/models'), api('GET', '/v1/health')]);
          seen.push(r.status);
          health.push(h.status);
          if (r.status === 503) retryAfter ??= r.headers.get('retry-after');
          return seen.includes(503) && r.status === 200 && h.status === 200 ? true : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      expect(seen).not.toContain(401);
      expect(seen).toContain(503);
      expect(retryAfter).not.toBeNull();
      expect(health).toContain(503);
      expect(serval.output()).toMatch(/DynamoDB Local \(pid \d+\) died/);
      const [again] = javaProcessesUsing(serval.dataDir);
      expect(again).toBeDefined();
      expect(again).not.toBe(jvm);
      // The outage is a few lines in the log, not a stack trace per request.
      expect(serval.output().length - logBefore).toBeLessThan(20_000);
    } finally {
      await serval.stop();
    }
  }, 120_000);

  it('refuses to start when a stand-in listens beyond 127.0.0.1', async () => {
    // The bare jar (what runs without the loopback launcher) binds every interface.
    const res = await failedStart(mkdtempSync(join(tmpdir(), 'serval-rt-')), await freePort(), {
      SERVAL_DYNAMODB_LAUNCHER: 'jar',
    });
    expect(res.code).toBe(1);
    expect(res.output).toContain('listens beyond 127.0.0.1');
    expect(res.output).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('stops on a SIGTERM to npm within 10 s: requests in progress finish and recent captures survive', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'serval-rt-'));
    const port = await freePort();
    // No time to drain: whatever is queued at stop must be saved and sent again at the next start.
    const npm = startProcess({ dataDir, port, env: { SERVAL_STOP_DRAIN_MS: '0' }, via: 'npm' });
    let node: number | undefined;
    try {
      await waitFor(npm, 'npm start to be ready', async () =>
        npm.output().includes('Press Ctrl-C to stop.') ? true : undefined,
      );
      node = JSON.parse(readFileSync(join(dataDir, 'serval.lock'), 'utf8')).pid as number;
      expect(node).not.toBe(npm.child.pid);
      const key = readFileSync(join(dataDir, 'admin-key'), 'utf8').trim();
      const url = `http://127.0.0.1:${port}`;
      const api = apiClient(url, key);

      // A model served through the SageMaker stand-in, which answers 2.5 s late.
      const sagemaker = join(dataDir, 'sagemaker');
      mkdirSync(sagemaker, { recursive: true });
      writeFileSync(join(sagemaker, 'slow.onnx'), tinyOnnx('slow'));
      writeFileSync(join(sagemaker, 'slow.json'), JSON.stringify({ delayMs: 2500 }));
      expect((await api('POST', '/v1/models', { name: 'slowpoke' })).status).toBe(201);
      const reg = await api('POST', '/v1/models/slowpoke/versions', {
        version: '1.0.0',
        artifact: { base64: tinyOnnxBase64('slow') },
        runtime: { type: 'sagemaker', endpointName: 'slow' },
      });
      expect(reg.status, reg.text).toBe(201);

      const predict = (model: string, instances: number[][]) =>
        rawPost(url, key, `/v1/models/${model}/predict`, { version: '1.0.0', instances });
      const quick = 40;
      for (let i = 0; i < quick; i++) {
        const r = await predict('iris-demo', [[5 + i / 100, 3, 1.4, 0.2]]);
        expect(r.status, r.body).toBe(200);
      }
      const slow = Array.from({ length: 4 }, () => predict('slowpoke', [[1, 2, 3]]));
      await new Promise((r) => setTimeout(r, 500));

      const t0 = Date.now();
      npm.child.kill('SIGTERM');
      const answers = await Promise.all(slow);
      await waitFor(npm, 'the runtime to exit', async () => (processAlive(node!) ? undefined : true), {
        timeoutMs: 15_000,
        intervalMs: 50,
      });
      const stopMs = Date.now() - t0;
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
      expect(stopMs).toBeLessThan(10_000);
      expect(javaProcessesUsing(dataDir)).toEqual([]);
      expect(existsSync(join(dataDir, 'serval.lock'))).toBe(false);
      expect(npm.output()).toMatch(/every queue is empty|still queued/);

      // Every prediction made before the SIGTERM is counted once the runtime is back.
      const again = await startServal({ dataDir });
      try {
        const api2 = apiClient(again.url, again.adminKey);
        const count = async (model: string) => {
          const r = await api2('GET', `/v1/models/${model}/stats?version=1.0.0`);
          return (
            (r.body.versions ?? []).find((v: { version: string }) => v.version === '1.0.0')?.requests ?? 0
          );
        };
        await waitFor(again, 'every capture to be counted', async () =>
          (await count('iris-demo')) >= quick && (await count('slowpoke')) >= 4 ? true : undefined,
        );
        expect(await count('iris-demo')).toBe(quick);
        expect(await count('slowpoke')).toBe(4);
        expect(existsSync(join(dataDir, 'sqs-pending.json'))).toBe(false);
      } finally {
        await again.stop();
      }
    } finally {
      if (node && processAlive(node)) process.kill(node, 'SIGKILL');
      if (npm.child.exitCode === null) npm.child.kill('SIGKILL');
    }
  }, 180_000);

  it('takes its JVM along when killed, and will not share a data directory with a live one', async () => {
    const serval = await startServal();
    const dataDir = serval.dataDir;
    expect(javaProcessesUsing(dataDir)).toHaveLength(1);
    serval.child.kill('SIGKILL');
    await serval.stop();
    await waitFor(
      serval,
      'the JVM to die with the runtime',
      async () => (javaProcessesUsing(dataDir).length === 0 ? true : undefined),
      { timeoutMs: 5_000, intervalMs: 100 },
    );

    // A DynamoDB Local on the same files (one an older Serval left behind), next to the stale lock.
    expect(existsSync(join(dataDir, 'serval.lock'))).toBe(true);
    const dir = dynamoDbLocalDir();
    const stray = spawn(
      'java',
      [
        `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
        '-jar',
        join(dir, 'DynamoDBLocal.jar'),
        '-port',
        String(await freePort()),
        '-sharedDb',
        '-disableTelemetry',
        '-dbPath',
        join(dataDir, 'dynamodb'),
      ],
      { stdio: 'ignore' },
    );
    try {
      await waitFor(serval, 'the stray JVM to be running', async () =>
        javaProcessesUsing(dataDir).length === 1 ? true : undefined,
      );
      const res = await failedStart(dataDir, await freePort());
      expect(res.code).toBe(1);
      expect(res.output).toContain(`still uses ${join(dataDir, 'dynamodb')}`);
      expect(res.output).not.toMatch(/\n\s+at /);
      expect(javaProcessesUsing(dataDir)).toEqual([stray.pid]);
    } finally {
      stray.kill('SIGKILL');
    }
  }, 120_000);
});

/** Local addresses (hex, as /proc prints them) of the sockets listening on `port`. */
function listenersOn(port: number): string[] {
  const out: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const [address, portHex] = (cols[1] ?? '').split(':');
      if (cols[3] === '0A' && Number.parseInt(portHex ?? '', 16) === port) out.push(address!);
    }
  }
  return out;
}

/**
 * A POST on a connection of its own (no keep-alive pool), so a request cut by the server shows up
 * as an error here rather than as a retry on another socket.
 */
function rawPost(
  base: string,
  key: string,
  path: string,
  body: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(
      `${base}${path}`,
      {
        method: 'POST',
        agent: false,
        headers: {
          'x-api-key': key,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(data),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}
