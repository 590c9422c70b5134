/**
 * The dashboard (web/src) reads the API through hand-written types of the fields it shows. Each is
 * checked here, at compile time (`npm run typecheck`), against the answer schema of the route it
 * reads (functions/http/answers): a field the dashboard expects and the API no longer answers, or
 * answers in another type, fails the typecheck before it fails a page in the browser.
 */
import { describe, expect, it } from 'vitest';
import type * as z from 'zod';
import type {
  AlertAnswer,
  BaselineProfileAnswer,
  DriftReportAnswer,
  PerformanceReportAnswer,
  QualityReportAnswer,
  TrafficFairnessAnswer,
} from '../../../functions/http/answers/monitoring.js';
import type {
  ModelAnswer,
  ModelDetailAnswer,
  VersionAnswer,
} from '../../../functions/http/answers/registry.js';
import type { JobAnswer, StatsAnswer } from '../../../functions/http/answers/serving.js';
import type { AuditEventAnswer } from '../../../functions/http/answers/system.js';
import type {
  Alert,
  AuditEvent,
  BaselineFeature,
  DriftReport,
  Fairness,
  Job,
  Model,
  Performance,
  QualityReport,
  Stats,
  Version,
} from '../../../web/src/types.js';

type Sent<S extends z.ZodType> = z.output<S>;

/** `answered<T>().by<Answer>()` compiles only when an answer of that type gives the dashboard its T. */
const answered = <T>() => ({ by: <_Answer extends T>() => true });

describe('the dashboard types', () => {
  it('are what the API answers', () => {
    expect(answered<Model>().by<Sent<typeof ModelAnswer>>()).toBe(true);
    expect(answered<Model>().by<Sent<typeof ModelDetailAnswer>>()).toBe(true);
    expect(answered<Version>().by<Sent<typeof VersionAnswer>>()).toBe(true);
    expect(answered<AuditEvent>().by<Sent<typeof AuditEventAnswer>>()).toBe(true);
    expect(answered<Alert>().by<Sent<typeof AlertAnswer>>()).toBe(true);
    expect(answered<DriftReport>().by<Sent<typeof DriftReportAnswer>>()).toBe(true);
    expect(answered<BaselineFeature>().by<Sent<typeof BaselineProfileAnswer>['features'][number]>()).toBe(
      true,
    );
    expect(answered<Stats>().by<Sent<typeof StatsAnswer>>()).toBe(true);
    expect(answered<QualityReport>().by<Sent<typeof QualityReportAnswer>>()).toBe(true);
    expect(answered<Performance>().by<Sent<typeof PerformanceReportAnswer>>()).toBe(true);
    expect(answered<Fairness>().by<Sent<typeof TrafficFairnessAnswer>>()).toBe(true);
    expect(answered<Job>().by<Sent<typeof JobAnswer>>()).toBe(true);
  });
});
