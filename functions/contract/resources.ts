import { ARTIFACT_KEY_PATTERNS as KEYS } from './artifact-keys.js';

/**
 * The one description of Serval's stateful resources. The CDK stacks (lib/constructs) and the
 * local runtime (local/provision.ts) both build from this file, so key schemas, indexes, queues
 * and their dead-letter settings cannot drift apart between AWS and a laptop.
 *
 * Pure data: no aws-cdk-lib import, so the local runtime and the functions can read it cheaply.
 */

export type AttributeType = 'S' | 'N';

export interface KeyDef {
  readonly name: string;
  readonly type: AttributeType;
}

export interface IndexDef {
  readonly name: string;
  readonly partitionKey: KeyDef;
  readonly sortKey?: KeyDef;
}

export interface TableDef {
  /** Logical id: CDK construct id and the suffix of the local table name. */
  readonly id: string;
  /** Environment variable through which functions receive the physical table name. */
  readonly env: string;
  readonly partitionKey: KeyDef;
  readonly sortKey?: KeyDef;
  readonly globalIndexes: readonly IndexDef[];
  readonly ttlAttribute?: string;
}

export interface QueueDef {
  readonly id: string;
  readonly env: string;
  /** Seconds a received message stays invisible; AWS requires >= the consumer's timeout. */
  readonly visibilityTimeoutSeconds: number;
  /** Receives before SQS moves a message to the dead-letter queue. */
  readonly maxReceiveCount: number;
  /** Batch size of the event source mapping that drives the worker (over 10 needs a window). */
  readonly batchSize: number;
  /**
   * How long the event source mapping gathers messages before invoking the worker with fewer
   * than batchSize (Lambda's MaximumBatchingWindowInSeconds; the local poller does the same).
   */
  readonly maxBatchingWindowSeconds?: number;
  /** The worker function (key of FUNCTIONS) that consumes the queue. */
  readonly worker: FunctionId;
}

export interface ScheduleDef {
  readonly id: string;
  /** Rate in minutes (EventBridge `rate(n minutes)`; the local runtime fires at the same rate). */
  readonly rateMinutes: number;
  readonly target: FunctionId;
}

export interface BucketDef {
  readonly id: string;
  readonly env: string;
}

export const TABLES = {
  registry: {
    id: 'Registry',
    env: 'SERVAL_TABLE_REGISTRY',
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    globalIndexes: [
      // gsi1: listings that cut across partitions (all models, sorted by name).
      { name: 'gsi1', partitionKey: { name: 'gsi1pk', type: 'S' }, sortKey: { name: 'gsi1sk', type: 'S' } },
    ],
  },
  audit: {
    id: 'Audit',
    env: 'SERVAL_TABLE_AUDIT',
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    globalIndexes: [
      { name: 'byActor', partitionKey: { name: 'actor', type: 'S' }, sortKey: { name: 'sk', type: 'S' } },
      // Audit writes follow human actions (registrations, approvals), so one time-ordered partition
      // is far below DynamoDB's per-partition limits and gives an unfiltered time-ordered feed.
      { name: 'byTime', partitionKey: { name: 'feed', type: 'S' }, sortKey: { name: 'sk', type: 'S' } },
    ],
  },
  keys: {
    id: 'Keys',
    env: 'SERVAL_TABLE_KEYS',
    partitionKey: { name: 'keyId', type: 'S' },
    globalIndexes: [],
  },
  // Monitoring: per model under MODEL#<name> — policy, baselines, drift reports, last check;
  // alerts and webhooks in their own partitions, listed through gsi1 (ALERTS / WEBHOOKS, by time).
  monitoring: {
    id: 'Monitoring',
    env: 'SERVAL_TABLE_MONITORING',
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    globalIndexes: [
      { name: 'gsi1', partitionKey: { name: 'gsi1pk', type: 'S' }, sortKey: { name: 'gsi1sk', type: 'S' } },
    ],
  },
  // Platform-wide settings (the operating mode), one item per setting name.
  settings: {
    id: 'Settings',
    env: 'SERVAL_TABLE_SETTINGS',
    partitionKey: { name: 'name', type: 'S' },
    globalIndexes: [],
  },
  // Served predictions. PRED#<predictionId> (sk 'P'): what was predicted, written by the capture
  // worker, so feedback can be joined to it by id; expires after 90 days (the store's ttlDays).
  // STATS#<model> (sk '<hourStart>#<version>'): hourly serving aggregates (counts, latency
  // histogram, confidence, feedback confusion counts), updated with atomic counters.
  // CAP#<messageId> (sk 'C'): marks a capture message as counted, so a redelivery adds nothing.
  // gsi1 is sparse: only labelled predictions carry its keys (LABELLED#<model>, '<at>#<id>'), set
  // with the label, so a window's labelled rows are one query by prediction time.
  predictions: {
    id: 'Predictions',
    env: 'SERVAL_TABLE_PREDICTIONS',
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    globalIndexes: [
      { name: 'gsi1', partitionKey: { name: 'gsi1pk', type: 'S' }, sortKey: { name: 'gsi1sk', type: 'S' } },
    ],
    ttlAttribute: 'expiresAt',
  },
  // Experiments. EXP#<id> (sk 'DEF'): the definition, state, allocation and outcome, listed through
  // gsi1 (EXPERIMENTS, by id: newest first). EXP#<id> (sk 'AGG#<variant>#<metric>'): running sums
  // per variant and metric, kept with atomic ADDs. EXP#<id> (sk 'KEY#<key>'): marks an observation
  // key (outcome event id, capture message, feedback, subject) as counted; expires with expiresAt.
  // EXP#<id> (sk 'SNAP#<time>'): results snapshots of the analysis runs. RUNNING#<model> (sk 'R'):
  // the model's running slot, taken and released in the same transaction as the state change.
  experiments: {
    id: 'Experiments',
    env: 'SERVAL_TABLE_EXPERIMENTS',
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    globalIndexes: [
      { name: 'gsi1', partitionKey: { name: 'gsi1pk', type: 'S' }, sortKey: { name: 'gsi1sk', type: 'S' } },
    ],
    ttlAttribute: 'expiresAt',
  },
  // Retraining jobs. JOB#<id> (sk 'J'): the job (state, progress, params, lineage of its result,
  // recent log lines), listed through gsi1 (JOBS, by id: newest first). SLOT#<model> (sk 'S'): the
  // model's slot (activeJobId while a job is queued or running; releasedAt, for the cooldown),
  // taken with the job's creation and given back with its end in the same transaction.
  jobs: {
    id: 'Jobs',
    env: 'SERVAL_TABLE_JOBS',
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    globalIndexes: [
      { name: 'gsi1', partitionKey: { name: 'gsi1pk', type: 'S' }, sortKey: { name: 'gsi1sk', type: 'S' } },
    ],
  },
  idempotency: {
    id: 'Idempotency',
    env: 'SERVAL_TABLE_IDEMPOTENCY',
    // Attribute names are Powertools' DynamoDBPersistenceLayer defaults.
    partitionKey: { name: 'id', type: 'S' },
    globalIndexes: [],
    ttlAttribute: 'expiration',
  },
} as const satisfies Record<string, TableDef>;

export const BUCKETS = {
  artifacts: { id: 'Artifacts', env: 'SERVAL_BUCKET_ARTIFACTS' },
} as const satisfies Record<string, BucketDef>;

/**
 * The object tag that hands a deleted version's artifact (or an abandoned upload) to the
 * artifacts bucket's lifecycle rule (lib/constructs/storage.ts), which removes it after
 * DELETED_ARTIFACT_RETENTION_DAYS. The local S3 server has no lifecycle: there the tag stays.
 */
export const DELETED_ARTIFACT_TAG = { key: 'serval-deleted', value: 'true' } as const;
export const DELETED_ARTIFACT_RETENTION_DAYS = 30;

export interface SecretDef {
  readonly id: string;
  /** Variable carrying the secret's location: its ARN on AWS, a file:// URL locally. */
  readonly env: string;
}

export const SECRETS = {
  // JSON {"current", "previous"?}: HS256 signing secrets for the short-lived API tokens.
  jwt: { id: 'JwtSigningKey', env: 'SERVAL_JWT_SECRET' },
} as const satisfies Record<string, SecretDef>;

export interface TopicDef {
  readonly id: string;
  readonly env: string;
}

/** SNS topics (AWS only: the local runtime has no SNS stand-in, so alerts go to webhooks only). */
export const TOPICS = {
  alerts: { id: 'Alerts', env: 'SERVAL_TOPIC_ALERTS' },
} as const satisfies Record<string, TopicDef>;

/**
 * What triggers a function, and so which entry factory its module uses
 * (functions/handlers/entry.ts) and how the local runtime and the stack connect it.
 */
export type FunctionKind = 'api' | 'authorizer' | 'queue' | 'schedule';

export interface FunctionDef {
  readonly kind: FunctionKind;
  /** The handler module, relative to the repository root; it exports createHandler(env) and handler. */
  readonly entry: string;
  readonly description: string;
}

export const FUNCTIONS = {
  system: { kind: 'api', entry: 'functions/handlers/system-api.ts', description: 'health, audit, OpenAPI' },
  registry: {
    kind: 'api',
    entry: 'functions/handlers/registry-api.ts',
    description: 'models, versions, stages',
  },
  auth: { kind: 'api', entry: 'functions/handlers/auth-api.ts', description: 'API keys' },
  authorizer: {
    kind: 'authorizer',
    entry: 'functions/handlers/authorizer.ts',
    description: 'API Gateway request authorizer',
  },
  integrityScheduler: {
    kind: 'schedule',
    entry: 'functions/handlers/integrity-scheduler.ts',
    description: 'enqueues every production artifact for a checksum check',
  },
  integrityWorker: {
    kind: 'queue',
    entry: 'functions/handlers/integrity-worker.ts',
    description: 'recomputes artifact SHA-256 and marks mismatches unusable',
  },
  monitoring: {
    kind: 'api',
    entry: 'functions/handlers/monitoring-api.ts',
    description: 'baselines, drift checks and reports, policies, alerts, webhooks',
  },
  driftScheduler: {
    kind: 'schedule',
    entry: 'functions/handlers/drift-scheduler.ts',
    description: 'enqueues a drift check for every monitored model that is due',
  },
  driftWorker: {
    kind: 'queue',
    entry: 'functions/handlers/drift-worker.ts',
    description: 'computes a drift report over a window of captured predictions',
  },
  webhookWorker: {
    kind: 'queue',
    entry: 'functions/handlers/webhook-worker.ts',
    description: 'delivers signed webhook events, retrying with backoff',
  },
  inference: {
    kind: 'api',
    entry: 'functions/handlers/inference-api.ts',
    description: 'predictions and explanations (onnxruntime or SageMaker), feedback, serving stats',
  },
  captureWorker: {
    kind: 'queue',
    entry: 'functions/handlers/capture-worker.ts',
    description: 'writes captured predictions to S3 and counts them into the serving aggregates',
  },
  experiments: {
    kind: 'api',
    entry: 'functions/handlers/experiments-api.ts',
    description: 'A/B/n, canary and shadow experiments: definitions, state, outcome events, results',
  },
  experimentsScheduler: {
    kind: 'schedule',
    entry: 'functions/handlers/experiments-scheduler.ts',
    description: 'enqueues an analysis of every running experiment',
  },
  experimentsWorker: {
    kind: 'queue',
    entry: 'functions/handlers/experiments-worker.ts',
    description: 'analyses a running experiment: results snapshot; canary advance, roll back or promote',
  },
  retraining: {
    kind: 'api',
    entry: 'functions/handlers/retraining-api.ts',
    description: 'retraining requests and jobs: queue, list, show, cancel',
  },
  retrainWorker: {
    kind: 'queue',
    entry: 'functions/handlers/retrain-worker.ts',
    description: 'runs a retraining job: dataset, seeded split, CV search, candidate registered in staging',
  },
  retrainScheduler: {
    kind: 'schedule',
    entry: 'functions/handlers/retrain-scheduler.ts',
    description: 'retraining triggers of the policies: a schedule, enough new labels',
  },
  trialWorker: {
    kind: 'queue',
    entry: 'functions/handlers/trial-worker.ts',
    description: "runs one trial of a retraining job's search (cross-validation of one candidate)",
  },
  jobSweeper: {
    kind: 'schedule',
    entry: 'functions/handlers/job-sweeper.ts',
    description: 'resumes retraining jobs whose worker stopped, from their checkpoint (or fails them)',
  },
  onlineWorker: {
    kind: 'queue',
    entry: 'functions/handlers/online-worker.ts',
    description: 'applies labelled feedback to online learners; registers their snapshots in staging',
  },
} as const satisfies Record<string, FunctionDef>;

export type FunctionId = keyof typeof FUNCTIONS;

export const QUEUES = {
  integrity: {
    id: 'Integrity',
    env: 'SERVAL_QUEUE_INTEGRITY',
    visibilityTimeoutSeconds: 180,
    maxReceiveCount: 3,
    batchSize: 10,
    worker: 'integrityWorker',
  },
  drift: {
    id: 'Drift',
    env: 'SERVAL_QUEUE_DRIFT',
    // A 10M-row window is checked within 5 minutes; the visibility timeout covers 6 times the
    // worker's timeout, as Lambda's event source mapping recommends.
    visibilityTimeoutSeconds: 1800,
    maxReceiveCount: 3,
    batchSize: 1,
    worker: 'driftWorker',
  },
  webhooks: {
    id: 'Webhooks',
    env: 'SERVAL_QUEUE_WEBHOOKS',
    visibilityTimeoutSeconds: 180,
    // Delivery retries are scheduled by the worker itself (re-sent with a growing delay); the DLQ
    // catches only messages the worker could not process at all.
    maxReceiveCount: 5,
    batchSize: 10,
    worker: 'webhookWorker',
  },
  // Every served request leaves one message (a whole batch of predictions); the worker writes
  // them to S3 as gzip JSON lines and counts them into the hourly aggregates. A body holds ~20
  // rows under load and the worker writes one object per batch (per model, version and hour):
  // batches of up to 1,000 bodies gathered for up to 3 s make objects of thousands of rows
  // instead of one object per body (~50,000 per million predictions), for at most 3 s more
  // capture lag. Lambda also caps a batch at 6 MB of bodies.
  captures: {
    id: 'Captures',
    env: 'SERVAL_QUEUE_CAPTURES',
    visibilityTimeoutSeconds: 180,
    maxReceiveCount: 5,
    batchSize: 1000,
    maxBatchingWindowSeconds: 3,
    worker: 'captureWorker',
  },
  // One message per running experiment per analysis run (the schedule's minute). Not
  // 'Experiments': tables and queues are siblings in the stack's Storage construct, and that id
  // is the table's.
  experiments: {
    id: 'ExperimentAnalysis',
    env: 'SERVAL_QUEUE_EXPERIMENTS',
    visibilityTimeoutSeconds: 180,
    maxReceiveCount: 3,
    batchSize: 10,
    worker: 'experimentsWorker',
  },
  // One message per retraining job. A job trains for minutes; the worker's timeout is a sixth of
  // the visibility timeout, and a redelivery finds the job running or finished and starts nothing.
  retrain: {
    id: 'Retrain',
    env: 'SERVAL_QUEUE_RETRAIN',
    visibilityTimeoutSeconds: 5400,
    maxReceiveCount: 3,
    batchSize: 1,
    worker: 'retrainWorker',
  },
  // One message per trial of a fanned-out search; many trial workers run at once. A trial is
  // one candidate's cross-validation (minutes at most); a redelivered trial stores nothing twice.
  trials: {
    id: 'Trials',
    env: 'SERVAL_QUEUE_TRIALS',
    visibilityTimeoutSeconds: 5400,
    maxReceiveCount: 3,
    batchSize: 1,
    worker: 'trialWorker',
  },
  // Labelled feedback for models with online learning on: one message per feedback request and
  // model. Writers serialise on the learner's revision (conditional writes), so a batch of ten
  // costs one commit per message, and losers retry within the worker's 30 s.
  online: {
    id: 'Online',
    env: 'SERVAL_QUEUE_ONLINE',
    visibilityTimeoutSeconds: 180,
    maxReceiveCount: 5,
    batchSize: 10,
    worker: 'onlineWorker',
  },
} as const satisfies Record<string, QueueDef>;

export const SCHEDULES = {
  integrity: { id: 'IntegritySweep', rateMinutes: 60, target: 'integrityScheduler' },
  // Every 15 minutes the scheduler enqueues the models whose policy interval (default 60 min) is due.
  drift: { id: 'DriftSweep', rateMinutes: 15, target: 'driftScheduler' },
  // Every minute each running experiment is analysed: a results snapshot, and a canary's step.
  experiments: { id: 'ExperimentAnalysis', rateMinutes: 1, target: 'experimentsScheduler' },
  // Every 15 minutes the retraining policies' schedule and new-label triggers are evaluated.
  retrain: { id: 'RetrainSweep', rateMinutes: 15, target: 'retrainScheduler' },
  // Every 5 minutes running retraining jobs whose heartbeat is stale are resumed or failed.
  jobSweep: { id: 'RetrainJobSweep', rateMinutes: 5, target: 'jobSweeper' },
} as const satisfies Record<string, ScheduleDef>;

export type TableId = keyof typeof TABLES;
export type BucketId = keyof typeof BUCKETS;
export type QueueId = keyof typeof QUEUES;
export type SecretId = keyof typeof SECRETS;
export type TopicId = keyof typeof TOPICS;

/**
 * describe: DescribeTable only (health probes); read: items and indexes; readWrite: and writes.
 * append: PutItem only, for the audit table: every audit write is a conditional put that fails if
 * the item exists (functions/adapters/dynamo-common.ts auditPut), and without UpdateItem or
 * DeleteItem a function cannot change or remove an event. readAppend: read and append.
 */
export type TableMode = 'describe' | 'read' | 'append' | 'readAppend' | 'readWrite';
/**
 * What a function may do with the objects matching a key pattern: read (GetObject, and presigned
 * GETs), write (PutObject, and presigned PUTs), delete (DeleteObject: on the versioned bucket, a
 * delete marker), tag (PutObjectTagging: hands an object to the expiry lifecycle rule).
 */
export type ObjectAccess = 'read' | 'write' | 'delete' | 'tag';

export interface BucketBinding {
  /**
   * Object key patterns (IAM wildcards: functions/contract/artifact-keys.ts) and the access
   * granted on each. Nothing outside them: a function never gets the whole bucket.
   */
  readonly objects: Readonly<Record<string, readonly ObjectAccess[]>>;
  /**
   * s3:ListBucket on the bucket: listings (captured hours), HeadBucket (health probe), and a 404
   * instead of a 403 for a missing object, which readers need to tell a missing object from a refusal.
   */
  readonly list: boolean;
}
/** send: SendMessage; depth: GetQueueAttributes (health). Consumption comes from the event source. */
export type QueueMode = 'send' | 'depth';

export interface FunctionBindings {
  readonly tables?: Partial<Record<TableId, TableMode>>;
  readonly buckets?: Partial<Record<BucketId, BucketBinding>>;
  /** A queue, and optionally its dead-letter queue (env `<queue env>_DLQ`). */
  readonly queues?: Partial<Record<QueueId, { readonly queue?: QueueMode; readonly dlq?: QueueMode }>>;
  /** Secrets the function reads (GetSecretValue). */
  readonly secrets?: Partial<Record<SecretId, 'read'>>;
  /** Topics the function publishes to. */
  readonly topics?: Partial<Record<TopicId, 'publish'>>;
}

/**
 * What each function may touch, and so which environment variables it receives: the CDK stack
 * grants exactly this (least privilege), and the local runtime hands each handler exactly these
 * variables, so a handler that reaches for something it is not bound to fails in local tests
 * just as it would on AWS.
 */
export const BINDINGS: Record<FunctionId, FunctionBindings> = {
  // Health, audit feed, OpenAPI, operating mode. Writes only the mode (and its audit event); the
  // keys, idempotency and monitoring tables are only probed.
  system: {
    tables: {
      registry: 'read',
      audit: 'readAppend',
      keys: 'describe',
      idempotency: 'describe',
      settings: 'readWrite',
      monitoring: 'describe',
      // GET /v1/metrics renders the hourly serving aggregates.
      predictions: 'read',
      experiments: 'describe',
      jobs: 'describe',
    },
    // HeadBucket only (health probe): system reads no object.
    buckets: { artifacts: { objects: {}, list: true } },
    queues: {
      integrity: { queue: 'depth', dlq: 'depth' },
      drift: { queue: 'depth', dlq: 'depth' },
      webhooks: { queue: 'depth', dlq: 'depth' },
      captures: { queue: 'depth', dlq: 'depth' },
      experiments: { queue: 'depth', dlq: 'depth' },
      retrain: { queue: 'depth', dlq: 'depth' },
      trials: { queue: 'depth', dlq: 'depth' },
      online: { queue: 'depth', dlq: 'depth' },
    },
  },
  // Lifecycle events fan out to the webhooks subscribed in the monitoring table, and to SNS.
  // Reads experiments to refuse deleting a version a running experiment serves.
  registry: {
    tables: {
      registry: 'readWrite',
      audit: 'append',
      idempotency: 'readWrite',
      settings: 'read',
      monitoring: 'read',
      experiments: 'read',
    },
    // Artifacts (stored, copied in from the upload drop box, removed after a failed commit, tagged
    // for expiry on deletion); uploads (presigned PUTs, read and tagged at completion); datasets
    // only read, to compute the SHA-256 a version records.
    buckets: {
      artifacts: {
        objects: {
          [KEYS.models]: ['read', 'write', 'delete', 'tag'],
          [KEYS.uploads]: ['read', 'write', 'delete', 'tag'],
          [KEYS.datasets]: ['read'],
          // Models trained elsewhere, imported by URI (docs/import.md).
          [KEYS.imports]: ['read'],
        },
        list: true,
      },
    },
    queues: { webhooks: { queue: 'send' } },
    topics: { alerts: 'publish' },
  },
  auth: {
    tables: { keys: 'readWrite', audit: 'append', idempotency: 'readWrite', settings: 'read' },
    secrets: { jwt: 'read' },
  },
  // Runs on every request with whatever credential the caller sent: may look keys up, never change them.
  authorizer: { tables: { keys: 'read' }, secrets: { jwt: 'read' } },
  integrityScheduler: { tables: { registry: 'read' }, queues: { integrity: { queue: 'send' } } },
  // Marks a mismatching version unusable and audits it; consumes its queue via the event source.
  // Reads artifacts to hash them; writes nothing but the tag that hands an expired upload's object
  // to the lifecycle rule. A mismatch also raises an alert (monitoring table) and goes out as an
  // event (webhooks, SNS).
  integrityWorker: {
    tables: { registry: 'readWrite', audit: 'append', monitoring: 'readWrite' },
    buckets: {
      artifacts: { objects: { [KEYS.models]: ['read', 'tag'], [KEYS.uploads]: ['tag'] }, list: true },
    },
    queues: { webhooks: { queue: 'send' } },
    topics: { alerts: 'publish' },
  },
  // Baselines and on-demand checks read captured windows and datasets; alerts fan out to webhooks.
  // Writes baseline profiles and the sketches of the hours it checks, never captured data.
  monitoring: {
    tables: {
      registry: 'read',
      monitoring: 'readWrite',
      audit: 'append',
      idempotency: 'readWrite',
      settings: 'read',
      // The hourly serving counts prediction volume is judged from (docs/quality.md); the online
      // learner's state item is shown and reset (deleted) there too.
      predictions: 'readWrite',
      // A manual check evaluates the drift and degradation triggers too (a job, audited).
      jobs: 'readWrite',
    },
    buckets: {
      artifacts: {
        objects: {
          [KEYS.baselines]: ['read', 'write'],
          [KEYS.captures]: ['read'],
          [KEYS.sketches]: ['write'],
          [KEYS.datasets]: ['read'],
          // Enabling online learning reads the production artifact to check it is a linear model.
          [KEYS.models]: ['read'],
        },
        list: true,
      },
    },
    queues: { webhooks: { queue: 'send' }, retrain: { queue: 'send' } },
    topics: { alerts: 'publish' },
  },
  driftScheduler: { tables: { registry: 'read', monitoring: 'read' }, queues: { drift: { queue: 'send' } } },
  // Writes window sketches next to the captured data (never the data), reports and alerts.
  driftWorker: {
    // predictions: the hourly serving counts prediction volume is judged from. jobs, audit and the
    // retrain queue: the drift and degradation triggers after each check (a job, audited), as far
    // as the operating mode (settings) allows.
    tables: {
      registry: 'read',
      monitoring: 'readWrite',
      predictions: 'read',
      jobs: 'readWrite',
      audit: 'append',
      settings: 'read',
    },
    buckets: {
      artifacts: {
        objects: { [KEYS.baselines]: ['read'], [KEYS.captures]: ['read'], [KEYS.sketches]: ['write'] },
        list: true,
      },
    },
    queues: { webhooks: { queue: 'send' }, retrain: { queue: 'send' } },
    topics: { alerts: 'publish' },
  },
  webhookWorker: { tables: { monitoring: 'readWrite' }, queues: { webhooks: { queue: 'send' } } },
  // The hot path reads the registry (cached) and the artifact; it writes to the registry only when
  // an artifact fails its checksum or a fallback answers (with their audit events), and to the
  // predictions table for feedback. SageMaker InvokeEndpoint is granted per configured endpoint by
  // the stack, not here: endpoints are not Serval resources.
  // A corrupt artifact or a fallback also raises an alert (monitoring table) and an event
  // (webhooks, SNS), off the hot path: only when a version fails.
  // When the capture queue fails, captures are written as the capture worker would (S3 captures/
  // and the predictions table): the spill (docs/inference.md, "Capture").
  // Experiments: the running experiment of a model (cached) routes requests to variants; feedback
  // counts accuracy into the experiment's aggregates.
  inference: {
    tables: {
      registry: 'readWrite',
      audit: 'append',
      predictions: 'readWrite',
      monitoring: 'readWrite',
      experiments: 'readWrite',
    },
    // Reads model artifacts; writes capture files only when the capture queue fails (the spill).
    buckets: {
      // Baselines: the default background rows of explanations.
      artifacts: {
        objects: { [KEYS.models]: ['read'], [KEYS.captureFiles]: ['write'], [KEYS.baselines]: ['read'] },
        list: true,
      },
    },
    // online: labelled feedback for models whose policy turns online learning on.
    queues: { captures: { queue: 'send' }, webhooks: { queue: 'send' }, online: { queue: 'send' } },
    topics: { alerts: 'publish' },
  },
  // Writes capture files only: it reads nothing back, so needs no listing either.
  // Counts served requests of a running experiment (exposures, errors, latency) into its aggregates.
  // Reads policies (monitoring): a model that learns online keeps instances on its predictions.
  captureWorker: {
    tables: { predictions: 'readWrite', experiments: 'readWrite', monitoring: 'read' },
    buckets: { artifacts: { objects: { [KEYS.captureFiles]: ['write'] }, list: false } },
  },
  // Conclude may promote the winner (registry, audit); lifecycle events go out to webhooks and SNS.
  experiments: {
    tables: {
      experiments: 'readWrite',
      registry: 'readWrite',
      audit: 'append',
      idempotency: 'readWrite',
      settings: 'read',
      monitoring: 'read',
    },
    queues: { webhooks: { queue: 'send' } },
    topics: { alerts: 'publish' },
  },
  experimentsScheduler: { tables: { experiments: 'read' }, queues: { experiments: { queue: 'send' } } },
  // Advances, rolls back (with an alert) and promotes canaries (registry, audit).
  experimentsWorker: {
    tables: { experiments: 'readWrite', registry: 'readWrite', audit: 'append', monitoring: 'readWrite' },
    queues: { webhooks: { queue: 'send' } },
    topics: { alerts: 'publish' },
  },
  // Requests queue jobs and take the model's slot (jobs), audited; reads models to refuse unknown
  // ones, and the operating mode (settings) with the model's policy (monitoring) it may depend on.
  retraining: {
    tables: {
      jobs: 'readWrite',
      registry: 'read',
      audit: 'append',
      idempotency: 'readWrite',
      settings: 'read',
      monitoring: 'read',
    },
    queues: { retrain: { queue: 'send' } },
  },
  // The policies (monitoring), the last job and slot (jobs), labelled predictions (predictions);
  // a firing trigger queues a job (retrain queue), audited, if the operating mode (settings) allows.
  retrainScheduler: {
    tables: {
      monitoring: 'read',
      jobs: 'readWrite',
      registry: 'read',
      predictions: 'read',
      audit: 'append',
      settings: 'read',
    },
    queues: { retrain: { queue: 'send' } },
  },
  // Reads the parent version's dataset and the captured, labelled predictions of the window
  // (captures, predictions), writes the training rows and their manifest (datasets), registers the
  // candidate (registry, artifacts, audit) and runs it and production on the held-out rows. Under
  // the policy (monitoring): an approval request (alert, webhooks, SNS), a canary (experiments) or
  // a promotion (registry). Continuations and trial fan-out go back to its own queue and the
  // trials queue; the job's checkpoint is read and written under jobs/.
  retrainWorker: {
    tables: {
      jobs: 'readWrite',
      registry: 'readWrite',
      audit: 'append',
      monitoring: 'readWrite',
      predictions: 'read',
      experiments: 'readWrite',
    },
    buckets: {
      artifacts: {
        objects: {
          [KEYS.models]: ['read', 'write', 'delete'],
          [KEYS.datasets]: ['read', 'write'],
          [KEYS.captureFiles]: ['read'],
          [KEYS.jobCheckpoints]: ['read', 'write'],
          [KEYS.jobTraining]: ['read', 'write'],
        },
        list: true,
      },
    },
    queues: { webhooks: { queue: 'send' }, retrain: { queue: 'send' }, trials: { queue: 'send' } },
    topics: { alerts: 'publish' },
  },
  // One trial: the dataset and checkpoint read, the result put in the jobs table, and the
  // continuation that gathers a complete rung sent to the retrain queue. Registers nothing.
  trialWorker: {
    tables: { jobs: 'readWrite', registry: 'read', audit: 'append' },
    buckets: {
      artifacts: {
        objects: { [KEYS.datasets]: ['read'], [KEYS.jobCheckpoints]: ['read'] },
        list: true,
      },
    },
    queues: { retrain: { queue: 'send' } },
  },
  // Lists running jobs, reads checkpoints, sends continuations (or fails a job without one).
  jobSweeper: {
    tables: { jobs: 'readWrite', audit: 'append' },
    buckets: { artifacts: { objects: { [KEYS.jobCheckpoints]: ['read'] }, list: true } },
    queues: { retrain: { queue: 'send' } },
  },
  // Learner state and the per-sample markers (predictions), the policy (monitoring), the
  // production artifact it starts from and the snapshots it registers in staging (registry,
  // artifacts, audit).
  onlineWorker: {
    tables: { predictions: 'readWrite', monitoring: 'read', registry: 'readWrite', audit: 'append' },
    buckets: { artifacts: { objects: { [KEYS.models]: ['read', 'write', 'delete'] }, list: true } },
  },
};

/**
 * The serving metrics' CloudWatch names (embedded metric format, functions/adapters/
 * serving-metrics.ts) that alarms watch. capturesLost is published with the service dimension only.
 */
export const SERVING_METRICS = {
  namespace: 'Serval',
  service: 'serval-inference',
  capturesLost: 'CapturesLost',
} as const;

/** Environment variable carrying a queue's dead-letter queue URL. */
export function dlqEnv(queueEnv: string): string {
  return `${queueEnv}_DLQ`;
}

/** The suffix of a dead-letter queue's name/id. */
export const DLQ_SUFFIX = '-dlq';

/** Names used locally (and as a readable prefix on AWS, where CloudFormation adds suffixes). */
export function localName(prefix: string, id: string): string {
  return `${prefix}-${id.toLowerCase()}`;
}
