/**
 * An in-memory ExperimentStore with the DynamoDB adapter's semantics: conditional writes on the
 * revision, the per-model running slot, and once-only observation keys.
 */
import type { Experiment } from '../../functions/core/experiments/definition.js';
import type {
  ExperimentQuery,
  ExperimentStore,
  MetricAggregate,
  ObservationGroup,
  ResultsSnapshot,
  RunningLock,
} from '../../functions/core/experiments/ports.js';
import type { AuditEvent } from '../../functions/core/kernel/audit.js';
import { concurrentModification, conflict } from '../../functions/core/kernel/errors.js';
import type { Page, PageRequest } from '../../functions/core/kernel/paging.js';

type MutableAggregate = { -readonly [K in keyof MetricAggregate]: MetricAggregate[K] } & {
  histogram?: Record<number, number>;
};

export class MemoryExperimentStore implements ExperimentStore {
  readonly experiments = new Map<string, Experiment>();
  readonly locks = new Map<string, string>();
  readonly audits: AuditEvent[] = [];
  readonly snapshots: ResultsSnapshot[] = [];
  private readonly keys = new Set<string>();
  private readonly aggs = new Map<string, MutableAggregate>();

  async create(experiment: Experiment, audit: AuditEvent): Promise<void> {
    if (this.experiments.has(experiment.id)) throw conflict(`experiment ${experiment.id} exists`);
    this.experiments.set(experiment.id, structuredClone(experiment));
    this.audits.push(audit);
  }

  async get(id: string): Promise<Experiment | undefined> {
    const e = this.experiments.get(id);
    return e ? structuredClone(e) : undefined;
  }

  async list(query: ExperimentQuery): Promise<Page<Experiment>> {
    const all = [...this.experiments.values()]
      .filter(
        (e) =>
          (query.model === undefined || e.model === query.model) &&
          (query.state === undefined || e.state === query.state),
      )
      .sort((a, b) => (a.id < b.id ? 1 : -1));
    const start = query.cursor ? all.findIndex((e) => e.id < query.cursor!) : 0;
    const items = start < 0 ? [] : all.slice(start, start + query.limit);
    const more = start >= 0 && start + query.limit < all.length;
    return { items: structuredClone(items), ...(more ? { nextCursor: items[items.length - 1]!.id } : {}) };
  }

  async update(
    experiment: Experiment,
    expectRevision: number,
    options: { audit?: AuditEvent; lock?: RunningLock } = {},
  ): Promise<void> {
    const stored = this.experiments.get(experiment.id);
    if (!stored || stored.revision !== expectRevision) throw concurrentModification();
    if (options.lock === 'acquire') {
      const holder = this.locks.get(experiment.model);
      if (holder !== undefined && holder !== experiment.id) {
        throw conflict(`model ${experiment.model} already has a running experiment (${holder})`, {
          model: experiment.model,
          runningExperiment: holder,
        });
      }
      this.locks.set(experiment.model, experiment.id);
    } else if (options.lock === 'release' && this.locks.get(experiment.model) === experiment.id) {
      this.locks.delete(experiment.model);
    }
    this.experiments.set(experiment.id, structuredClone(experiment));
    if (options.audit) this.audits.push(options.audit);
  }

  async running(model: string): Promise<Experiment | undefined> {
    const id = this.locks.get(model);
    return id ? this.get(id) : undefined;
  }

  async listRunning(): Promise<Experiment[]> {
    return [...this.locks.values()].map((id) => structuredClone(this.experiments.get(id)!));
  }

  async observe(experimentId: string, groups: readonly ObservationGroup[]) {
    let accepted = 0;
    let duplicates = 0;
    for (const g of groups) {
      const key = `${experimentId}|${g.key}`;
      if (this.keys.has(key)) {
        duplicates++;
        continue;
      }
      this.keys.add(key);
      accepted++;
      for (const c of g.contributions) {
        const id = `${experimentId}|${c.variant}|${c.metric}`;
        const a = this.aggs.get(id) ?? { variant: c.variant, metric: c.metric, n: 0, sum: 0, sumSq: 0 };
        a.n += 1;
        a.sum += c.value;
        a.sumSq += c.value * c.value;
        if (c.bucket !== undefined) {
          a.histogram ??= {};
          a.histogram[c.bucket] = (a.histogram[c.bucket] ?? 0) + 1;
        }
        this.aggs.set(id, a);
      }
    }
    return { accepted, duplicates };
  }

  async aggregates(experimentId: string): Promise<MetricAggregate[]> {
    return [...this.aggs.entries()]
      .filter(([k]) => k.startsWith(`${experimentId}|`))
      .map(([, a]) => structuredClone(a));
  }

  async putSnapshot(snapshot: ResultsSnapshot): Promise<void> {
    this.snapshots.push(structuredClone(snapshot));
  }

  async listSnapshots(experimentId: string, page: PageRequest): Promise<Page<ResultsSnapshot>> {
    // Oldest first, as DynamoDB sorts SNAP#<at> keys, whatever order the runs stored them in.
    const all = this.snapshots
      .filter((s) => s.experimentId === experimentId)
      .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    const start = page.cursor ? Number(page.cursor) : 0;
    const items = all.slice(start, start + page.limit);
    return { items, ...(start + page.limit < all.length ? { nextCursor: String(start + page.limit) } : {}) };
  }
}
