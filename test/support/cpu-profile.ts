/**
 * A CPU profile of one step of a bench, written as a .cpuprofile (Chrome DevTools, speedscope)
 * when SERVAL_BENCH_PROFILE_DIR is set, and a table of its top frames by self time: the profile
 * of each path that performance work starts from (docs/performance.md). Unset, it runs the
 * step alone. The profiler samples this process only: in-process stand-ins (s3rver, local SQS)
 * are in it, DynamoDB Local (a JVM) is not.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  startTime?: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export async function profiled<T>(
  name: string,
  step: () => Promise<T>,
  log: (line: string) => void = console.log,
): Promise<T> {
  const dir = process.env.SERVAL_BENCH_PROFILE_DIR;
  if (!dir) return step();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 1000 });
  await session.post('Profiler.start');
  try {
    return await step();
  } finally {
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
    session.disconnect();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    for (const line of topFrames(profile)) log(line);
  }
}

/** Where a frame's code lives: its npm package, or its first-party directory (functions/adapters). */
function ownerOf(url: string): string {
  if (!url) return '(native: GC, writev, program)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const own = /\/(functions\/[^/]+|local|lib|bin|test)\//.exec(url);
  return own ? own[1]! : url.split('/').slice(-2).join('/');
}

/**
 * Self time (microseconds) summed per key over the samples taken in `window` (all when absent),
 * with the total it sums to; a sample whose frame `keyOf` gives no key counts in neither.
 */
function selfTimeBy(
  profile: Profile,
  keyOf: (frame: ProfileNode['callFrame']) => string | undefined,
  window?: [number, number],
): { self: Map<string, number>; total: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  let at = profile.startTime ?? 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    at += dt;
    if (window && (at < window[0] || at > window[1])) return;
    const f = byId.get(id)?.callFrame;
    const key = f && keyOf(f);
    if (key === undefined) return;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  return { self, total };
}

/** The `count` keys with the most self time, as a markdown table whose first column is `share`. */
function selfTimeTable(
  { self, total }: { self: Map<string, number>; total: number },
  count: number,
  share: string,
  what: string,
): string[] {
  return [
    `| ${share} | self ms | ${what} |`,
    '|---:|---:|---|',
    ...[...self]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([k, t]) => `| ${((100 * t) / total).toFixed(1)} | ${(t / 1000).toFixed(0)} | ${k} |`),
  ];
}

/** Self time summed per package or first-party directory, as a markdown table (same `window`). */
export function topOwners(profile: Profile, count = 10, window?: [number, number]): string[] {
  const owners = selfTimeBy(
    profile,
    (f) => (f.functionName === '(idle)' ? undefined : ownerOf(f.url)),
    window,
  );
  return selfTimeTable(owners, count, 'busy %', 'package or directory');
}

/**
 * The frames with the most self time, as a markdown table. `window`: only the samples taken in
 * it, in microseconds of the monotonic clock (process.hrtime / 1000, the profile's own clock), so
 * another process's profile can be cut to the calls a bench measured.
 */
export function topFrames(profile: Profile, count = 12, window?: [number, number]): string[] {
  const frames = selfTimeBy(
    profile,
    (f) => `${f.functionName || '(anonymous)'}${f.url ? ` ${f.url.split('/').slice(-2).join('/')}` : ''}`,
    window,
  );
  return selfTimeTable(frames, count, 'self %', 'frame');
}
