/** The parts of the API's JSON the dashboard reads (functions/http/views.ts has the full shapes). */
export type Role = 'viewer' | 'predictor' | 'scientist' | 'approver' | 'admin';
export type Stage = 'draft' | 'testing' | 'staging' | 'production' | 'archived';
export const STAGES: readonly Stage[] = ['draft', 'testing', 'staging', 'production', 'archived'];

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

export interface Model {
  readonly name: string;
  readonly description: string;
  readonly tags: Record<string, string>;
  readonly productionVersion: string | null;
  readonly latestVersion: string | null;
  readonly versionCount: number;
  readonly requireValidation: boolean;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly updatedAt: string;
  readonly aliases?: Record<string, string | null>;
  readonly versionsByStage?: Record<Stage, string[]>;
}

export interface Version {
  readonly model: string;
  readonly version: string;
  readonly stage: Stage;
  readonly status: string;
  readonly framework: string;
  readonly runtime: { type: string; endpointName?: string };
  readonly sha256: string;
  readonly size: number | null;
  readonly inputSchema: { features: { name: string; type: string }[] } | null;
  readonly outputSchema: { kind: string; classes?: (string | number)[] } | null;
  readonly metrics: Record<string, number>;
  readonly params: Record<string, unknown>;
  readonly dataset: { uri: string; sha256?: string; rows?: number; verified: boolean } | null;
  readonly parent: string | null;
  readonly tags: Record<string, string>;
  readonly description: string;
  readonly approval: { decision: string; by: string; at: string; comment?: string } | null;
  readonly validation: { passed: boolean; ranAt: string; by: string } | null;
  readonly unusableReason: string | null;
  readonly createdAt: string;
  readonly createdBy: string;
}

export interface AuditEvent {
  readonly id: string;
  readonly at: string;
  readonly actor: string;
  readonly actorName?: string;
  readonly action: string;
  readonly target: string;
  readonly version?: string;
  readonly comment?: string;
}

export interface Alert {
  readonly id: string;
  readonly model: string;
  /** Absent on drift alerts stored before kinds existed. */
  readonly kind?: string;
  readonly severity: string;
  readonly title: string;
  readonly recommendation?: string;
  readonly status: 'open' | 'acknowledged';
  readonly createdAt: string;
  readonly acknowledgedBy?: string;
  readonly acknowledgedAt?: string;
}

export interface FeatureDrift {
  readonly name: string;
  readonly kind: string;
  readonly test: string;
  readonly statistic: number | null;
  /** Tests with a p-value only (ks, chi-square, z). */
  readonly pValue?: number;
  readonly threshold: number;
  readonly drifted: boolean;
  readonly severity: string;
  /** Baseline against window shares (functions/core/monitoring/histograms.ts). */
  readonly histogram?:
    | {
        readonly kind: 'numerical';
        readonly edges: number[];
        readonly baseline: number[];
        readonly current: number[];
      }
    | {
        readonly kind: 'categorical';
        readonly categories: string[];
        readonly baseline: number[];
        readonly current: number[];
      };
}

export interface DriftReport {
  readonly id: string;
  readonly createdAt: string;
  readonly window: { from: string; to: string };
  readonly status: string;
  readonly rows: number;
  readonly datasetDrift: boolean;
  readonly severity: string;
  readonly baselineVersion: string;
  readonly result: {
    readonly reason?: string;
    readonly report?: { features: FeatureDrift[]; recommendation: string; driftedCount: number };
  };
}

export interface BaselineFeature {
  readonly name: string;
  readonly kind: string;
  /** Numerical features: min, max, mean and quantiles (null without a value); categorical: top. */
  readonly summary: {
    count: number;
    min?: number | null;
    max?: number | null;
    mean?: number | null;
    quantiles?: Record<string, number> | null;
    top?: readonly { value: string; count: number }[];
  };
}

export interface ServingWindow {
  readonly requests: number;
  readonly errors: number;
  readonly errorRate: number | null;
  readonly latencyMs: { p50: number; p95: number; p99: number } | null;
  /** Labels joined through feedback: accuracy for classifiers (functions/core/inference/stats.ts). */
  readonly feedback: { count: number; classification?: { accuracy: number } } | null;
}

export interface Stats {
  readonly from: string | null;
  readonly to: string | null;
  readonly total: ServingWindow;
}

/**
 * The stage moves the registry allows (functions/core/registry/stages.ts; a unit test keeps the
 * two equal), so the dashboard offers only moves that can succeed.
 */
export const MOVES: Record<Stage, readonly Stage[]> = {
  draft: ['testing', 'archived'],
  testing: ['staging', 'archived'],
  staging: ['production', 'archived'],
  production: ['archived'],
  archived: ['staging'],
};

export interface QualityViolation {
  readonly check: string;
  readonly feature?: string;
  readonly observed: number;
  readonly threshold: number;
  readonly message: string;
}

/** functions/core/monitoring/quality.ts (docs/quality.md §4). */
export interface QualityReport {
  readonly id: string;
  readonly createdAt: string;
  readonly trigger: string;
  readonly window: { from: string; to: string };
  readonly baselineVersion: string;
  readonly status: string;
  readonly rows: number;
  readonly violationCount: number;
  readonly severity: string;
  readonly report?: {
    readonly rows: number;
    readonly malformedRows: number;
    readonly violations: QualityViolation[];
  };
  readonly volume?: {
    readonly status: string;
    readonly hourStart?: string;
    readonly check?: { count: number; median: number | null; anomaly?: string | null; reason?: string };
  };
}

export interface Averages {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

/** functions/core/monitoring/performance-report.ts (docs/performance.md). */
export interface Performance {
  readonly version: string;
  readonly kind: string;
  readonly window: { from: string; to: string };
  readonly rows: number;
  readonly truncated: boolean;
  readonly maxRows: number;
  readonly unreadableLabels: number;
  readonly labelCoverage: { labelled: number; predictions: number; share: number | null } | null;
  readonly classification: {
    readonly accuracy: number;
    readonly perClass: { label: string; precision: number; recall: number; f1: number; support: number }[];
    readonly macro: Averages;
    readonly weighted: Averages;
    readonly rocAuc: number | null;
    readonly logLoss: number | null;
    readonly confusion: { labels: string[]; matrix: number[][] };
  } | null;
  readonly regression: { mae: number; rmse: number; r2: number; mape: number } | null;
  readonly registered: Record<string, number>;
}

export interface Estimate {
  readonly value: number | null;
  readonly ci: readonly [number, number] | null;
}

/** functions/core/monitoring/fairness-report.ts (docs/fairness.md). */
export interface Fairness {
  readonly version: string;
  readonly attribute: string;
  readonly positive: string;
  readonly window: { from: string; to: string };
  readonly rows: number;
  readonly labelled: number;
  readonly withoutAttribute: number;
  readonly truncated: boolean;
  readonly report: {
    readonly groups: {
      group: string;
      n: number;
      selectionRate: number | null;
      tpr: number | null;
      fpr: number | null;
      unreliable: readonly string[];
    }[];
    readonly demographicParityDifference: Estimate;
    readonly demographicParityRatio: Estimate;
    readonly equalOpportunityDifference: Estimate;
    readonly equalizedOddsDifference: Estimate;
    readonly fourFifthsRule: { passed: boolean | null; failing: string[] };
    readonly unreliableGroups: string[];
  };
}

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

/** functions/core/retraining/jobs.ts (docs/retraining.md); list items have no log. */
export interface Job {
  readonly id: string;
  readonly model: string;
  readonly state: JobState;
  readonly reason: string;
  readonly trigger: string;
  readonly requestedBy: { id: string; name: string };
  readonly progress: { fraction: number; message: string; trial: number; trials: number };
  readonly resultVersion: string | null;
  readonly error: string | null;
  readonly outcome?: string;
  readonly cancelRequested?: boolean;
  readonly log?: readonly { at: string; message: string }[];
  readonly createdAt: string;
  readonly updatedAt: string;
}
