/** In-memory retraining ports for unit tests: the job store keeps the DynamoDB adapter's rules. */
import type { AuditEvent } from '../../functions/core/kernel/audit.js';
import { concurrentModification, conflict } from '../../functions/core/kernel/errors.js';
import type { Page } from '../../functions/core/kernel/paging.js';
import {
  isActive,
  type JobQuery,
  type JobSlot,
  type JobStore,
  type RetrainJob,
} from '../../functions/core/retraining/jobs.js';

export class MemoryJobStore implements JobStore {
  readonly jobs = new Map<string, RetrainJob>();
  readonly slots = new Map<string, JobSlot>();
  readonly audits: AuditEvent[] = [];

  async get(id: string) {
    return structuredClone(this.jobs.get(id));
  }

  async list(q: JobQuery): Promise<Page<RetrainJob>> {
    const items = [...this.jobs.values()]
      .filter((j) => (!q.model || j.model === q.model) && (!q.state || j.state === q.state))
      .sort((a, b) => (a.id < b.id ? 1 : -1))
      .slice(0, q.limit);
    return { items };
  }

  async slot(model: string) {
    return { ...this.slots.get(model) };
  }

  async create(job: RetrainJob, audit: AuditEvent) {
    if (this.slots.get(job.model)?.activeJobId) throw conflict('slot taken');
    this.slots.set(job.model, { ...this.slots.get(job.model), activeJobId: job.id });
    this.jobs.set(job.id, structuredClone(job));
    this.audits.push(audit);
  }

  async save(job: RetrainJob, expectRevision: number, audit?: AuditEvent) {
    const cur = this.jobs.get(job.id);
    if (!cur || cur.revision !== expectRevision) throw concurrentModification(`job ${job.id} changed`);
    this.jobs.set(job.id, structuredClone(job));
    if (!isActive(job.state) && this.slots.get(job.model)?.activeJobId === job.id) {
      this.slots.set(job.model, { releasedAt: job.updatedAt });
    }
    if (audit) this.audits.push(audit);
  }

  async audit(event: AuditEvent) {
    this.audits.push(event);
  }
}
