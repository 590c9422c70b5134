/** Answers of the system, audit and security routes (health, mode, audit, tokens, keys, metrics, OpenAPI). */
import * as z from 'zod';
import { ROLES } from '../../core/auth/roles.js';
import { MODES } from '../../core/system/modes.js';
import { Sha256, Ulid } from '../schemas.js';
import { type AnswerTable, Instant, page, sentAs } from './common.js';
import { VersionStatusAnswer } from './registry.js';

export const HealthAnswer = z
  .strictObject({ status: z.literal('ok') })
  .describe('Serval is up and its key store answers (otherwise 503).');

/** One store or queue probed by the detailed health check. */
export const ProbeAnswer = z.strictObject({
  name: z.string().describe('The resource as the deployment names it, e.g. table:keys or queue:capture-dlq.'),
  kind: z.enum(['dynamodb', 's3', 'sqs']),
  ok: z.boolean(),
  latencyMs: z.number().nonnegative(),
  error: z
    .string()
    .optional()
    .describe("The error's name when the probe failed (e.g. ResourceNotFoundException)."),
  depth: z.number().int().nonnegative().optional().describe('Messages waiting (queues that answered).'),
});

/** The rollback that takes a model's production off a failing artifact. */
export const SuggestedRollbackAnswer = z
  .strictObject({
    method: z.literal('POST'),
    path: z.string(),
    body: z.strictObject({ toVersion: z.string() }),
  })
  .nullable()
  .optional()
  .describe('Present when ok is false: the call to roll back, or null when no version can take over.');

/** A production artifact as the integrity sweep last recorded it. */
export const SweptArtifactAnswer = z.strictObject({
  model: z.string(),
  version: z.string(),
  ok: z.boolean().describe('Ready, and verified recently enough.'),
  status: VersionStatusAnswer,
  lastVerifiedAt: Instant.nullable(),
  ageSeconds: z.number().int().nonnegative().nullable().describe('Age of the last verification.'),
  stale: z.boolean().describe('No verification, or one older than three missed sweeps.'),
  suggestedRollback: SuggestedRollbackAnswer,
});

/** A production artifact whose checksum was recomputed for this answer (recheck=true). */
export const RecheckedArtifactAnswer = z.strictObject({
  model: z.string(),
  version: z.string(),
  ok: z.boolean().describe('The stored bytes match the registered sha256 and the version is ready.'),
  expected: Sha256.describe('The registered sha256.'),
  actual: Sha256.nullable().describe('The sha256 of the stored bytes; null when they are missing.'),
  status: VersionStatusAnswer,
  suggestedRollback: SuggestedRollbackAnswer,
});

export const HealthReportAnswer = z
  .strictObject({
    status: z.enum(['ok', 'degraded']),
    stores: z.array(ProbeAnswer).readonly(),
    queues: z.array(ProbeAnswer).readonly(),
    artifactsFrom: z
      .enum(['sweep', 'recheck'])
      .describe("sweep: the integrity sweep's recorded results; recheck: recomputed for this answer."),
    productionArtifacts: z
      .array(
        sentAs(z.record(z.string(), z.unknown()), z.union([SweptArtifactAnswer, RecheckedArtifactAnswer])),
      )
      .readonly()
      .describe('Every production version (empty when a store or queue is unreachable).'),
    checkedAt: Instant,
  })
  .describe('Every store and queue probed and, when all answer, every production artifact checked.');

export const OpenApiAnswer = sentAs(
  z.record(z.string(), z.unknown()),
  z.strictObject({
    openapi: z.string(),
    info: z.strictObject({ title: z.string(), version: z.string(), description: z.string() }),
    servers: z.array(z.strictObject({ url: z.string() })),
    components: z.record(z.string(), z.unknown()),
    paths: z.record(z.string(), z.record(z.string(), z.unknown())),
  }),
).describe('This OpenAPI 3.1 document.');

/** The operating mode with what it means (core/system/modes.ts MODE_MEANING). */
export const ModeAnswer = z
  .strictObject({
    mode: z.enum(MODES),
    changedAt: Instant,
    changedBy: z.string().describe('The principal that set the mode (system for the default).'),
    comment: z.string(),
    revision: z.number().int().nonnegative().describe('Changes so far (0: never changed).'),
    changes: z.boolean().describe('Whether changes are accepted (false in maintenance: 503).'),
    retraining: z
      .enum(['always', 'if_policy_allows', 'never'])
      .describe('When retraining jobs run in this mode.'),
    description: z.string(),
  })
  .describe('The operating mode and what it allows.');

export const AuditEventAnswer = z.strictObject({
  id: Ulid,
  at: Instant,
  actor: z.string().describe('The id of the principal that acted.'),
  actorName: z.string(),
  action: z.string().describe('What was done, e.g. version.promote or key.create.'),
  target: z.string().describe('What it was done to, e.g. model/name, model/name@1.2.0, key/<id>.'),
  model: z.string().optional(),
  version: z.string().optional(),
  // Their shape depends on the action: each service records what matters for its change.
  before: z.unknown().optional().describe('What the change replaced (shape depends on the action).'),
  after: z.unknown().optional().describe('What the change made (shape depends on the action).'),
  comment: z.string().optional(),
});

export const AuditPageAnswer = page(AuditEventAnswer).describe('Audit events, newest first.');

export const TokenAnswer = z
  .strictObject({
    token: z.jwt({ alg: 'HS256' }),
    expiresAt: Instant,
    role: z.enum(ROLES).describe("The key's role, which the token carries."),
  })
  .describe('A short-lived token for the API key that asked (shown once).');

/** An API key as listed: never its secret or hash. */
export const KeyAnswer = z.strictObject({
  keyId: Ulid,
  name: z.string(),
  role: z.enum(ROLES),
  createdAt: Instant,
  createdBy: z.string(),
  expiresAt: Instant.optional(),
  revokedAt: Instant.optional(),
  revokedBy: z.string().optional(),
  status: z.enum(['active', 'expired', 'revoked']),
});

export const CreatedKeyAnswer = KeyAnswer.extend({
  key: z
    .string()
    .regex(/^svl_[0-9A-HJKMNP-TV-Z]{26}_[A-Za-z0-9_-]{43}$/)
    .describe('The key itself: shown only in this answer.'),
  notice: z.string(),
}).describe('The new key, with its secret (shown once).');

export const SYSTEM_ANSWERS = {
  health: HealthAnswer,
  healthDetailed: HealthReportAnswer,
  openapi: OpenApiAnswer,
  getMode: ModeAnswer,
  setMode: ModeAnswer,
  listAudit: AuditPageAnswer,
  metrics: null,
  issueToken: TokenAnswer,
  createKey: CreatedKeyAnswer,
  listKeys: page(KeyAnswer).describe('API keys, in no particular order.'),
  revokeKey: KeyAnswer.describe('The key, now revoked.'),
} as const satisfies AnswerTable;
