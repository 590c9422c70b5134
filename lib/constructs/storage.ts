/**
 * Serval's state on AWS — tables, buckets and queues — built from functions/contract/resources.ts, the same
 * description the local runtime provisions from, so key schemas and dead-letter settings cannot
 * differ between a laptop and an account.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Alias } from 'aws-cdk-lib/aws-kms';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  HttpMethods,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ARTIFACT_PREFIXES } from '../../functions/contract/artifact-keys.js';
import {
  BUCKETS,
  type BucketDef,
  DELETED_ARTIFACT_RETENTION_DAYS,
  DELETED_ARTIFACT_TAG,
  DLQ_SUFFIX,
  type KeyDef,
  QUEUES,
  type QueueDef,
  SECRETS,
  type SecretDef,
  TABLES,
  type TableDef,
  TOPICS,
  type TopicDef,
} from '../../functions/contract/resources.js';

export type TableKey = keyof typeof TABLES;
export type BucketKey = keyof typeof BUCKETS;
export type QueueKey = keyof typeof QUEUES;
export type SecretKey = keyof typeof SECRETS;
export type TopicKey = keyof typeof TOPICS;

export interface QueuePair {
  readonly queue: Queue;
  readonly dlq: Queue;
}

export interface StorageProps {
  /**
   * Keep tables when the stack is deleted, with deletion protection on (default true). Buckets
   * are always retained: CloudFormation cannot delete a non-empty bucket, and emptying one needs
   * a custom-resource Lambda we would rather not deploy.
   */
  readonly retainData?: boolean;
  /** Browser origins allowed to use presigned artifact URLs (default: none, no CORS rule). */
  readonly artifactCorsOrigins?: readonly string[];
  /** Days server access logs are kept (default 365). */
  readonly accessLogExpirationDays?: number;
  /** Days captured predictions (`captures/` in the artifacts bucket) are kept (default 400). */
  readonly captureRetentionDays?: number;
  /**
   * Days the artifact of a deleted version (or an abandoned upload) is kept after the registry
   * tags it (default DELETED_ARTIFACT_RETENTION_DAYS), so a mistaken deletion can be recovered.
   */
  readonly deletedArtifactRetentionDays?: number;
}

/** Where the capture worker writes predictions (and drift checks their sketches) in the artifacts bucket. */
export const CAPTURES_PREFIX = ARTIFACT_PREFIXES.captures;
export const DEFAULT_CAPTURE_RETENTION_DAYS = 400;

export class Storage extends Construct {
  readonly tables: Record<TableKey, Table>;
  readonly buckets: Record<BucketKey, Bucket>;
  readonly queues: Record<QueueKey, QueuePair>;
  readonly secrets: Record<SecretKey, Secret>;
  readonly topics: Record<TopicKey, Topic>;
  /** Destination of the data buckets' server access logs. */
  readonly accessLogs: Bucket;

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);
    const retain = props.retainData ?? true;

    this.tables = mapDefs(TABLES, (def) => this.table(def, retain));

    this.accessLogs = new Bucket(this, 'AccessLogs', {
      // Server access log delivery does not support SSE-KMS destinations.
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      lifecycleRules: [{ expiration: Duration.days(props.accessLogExpirationDays ?? 365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // No access logs of its own: cdk-nag's S1 accepts a bucket that is a log destination, and
    // logging it would need a third bucket (logging into itself loops).

    this.buckets = mapDefs(BUCKETS, (def) => this.bucket(def, props));
    this.queues = mapDefs(QUEUES, (def) => this.queue(def));
    this.secrets = mapDefs(SECRETS, (def) => this.secret(def));
    this.topics = mapDefs(TOPICS, (def) => this.topic(def));
  }

  /**
   * Event topics (alerts) for operators' own subscriptions. The AWS managed SNS key: publishers
   * need no KMS grant, and no service other than SNS reads the messages.
   */
  private topic(def: TopicDef): Topic {
    return new Topic(this, def.id, {
      displayName: `Serval ${def.id.toLowerCase()}`,
      masterKey: Alias.fromAliasName(this, `${def.id}Key`, 'alias/aws/sns'),
      enforceSSL: true,
    });
  }

  /**
   * A generated secret in the shape the functions read: JSON {"current": "<64 random chars>"}.
   * Rotation is a documented manual step (put {"current": new, "previous": old}), because a
   * rotation Lambda would have to keep `previous` for the token lifetime anyway.
   */
  private secret(def: SecretDef): Secret {
    const secret = new Secret(this, def.id, {
      description: 'Serval: HS256 signing secrets for API tokens, JSON {current, previous?}',
      generateSecretString: {
        secretStringTemplate: '{}',
        generateStringKey: 'current',
        passwordLength: 64,
        excludePunctuation: true,
      },
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotation is manual and documented (README, Security): the new value must keep the old one as ' +
        '"previous" until every token signed with it has expired, which a generic rotation Lambda does not do.',
    });
    return secret;
  }

  private table(def: TableDef, retain: boolean): Table {
    const table = new Table(this, def.id, {
      partitionKey: attribute(def.partitionKey),
      sortKey: def.sortKey && attribute(def.sortKey),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // AWS managed key (aws/dynamodb) rather than a customer managed key: data is KMS-encrypted
      // and every use of the key is in CloudTrail, with no key policy to maintain, no monthly key
      // charge and no extra kms:Decrypt grant for every function. A CMK buys cross-account key
      // control and crypto-shredding, which Serval does not need yet.
      encryption: TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: 'ttlAttribute' in def ? def.ttlAttribute : undefined,
      deletionProtection: retain,
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    for (const index of def.globalIndexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: attribute(index.partitionKey),
        sortKey: index.sortKey && attribute(index.sortKey),
        // The local runtime's indexes project everything too; queries never need a second read.
        projectionType: ProjectionType.ALL,
      });
    }
    return table;
  }

  private bucket(def: BucketDef, props: StorageProps): Bucket {
    const origins = props.artifactCorsOrigins;
    return new Bucket(this, def.id, {
      // SSE-S3 rather than SSE-KMS: presigned PUT/GET from browsers and CLIs then need no KMS
      // permission or key policy, and S3 requests carry no KMS request charge. Artifact integrity
      // does not rest on the encryption: every artifact's SHA-256 is recorded and re-verified.
      encryption: BucketEncryption.S3_MANAGED,
      // Versioning keeps the bytes a checksum was recorded for, even if a key is overwritten.
      versioned: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: `${def.id.toLowerCase()}/`,
      lifecycleRules: [
        // An upload abandoned halfway still costs storage until aborted.
        { abortIncompleteMultipartUploadAfter: Duration.days(7) },
        // Captured predictions (request inputs included) are kept for a bounded time. The bucket is
        // versioned, so expiry only hides an object behind a delete marker; the hidden version is
        // removed a day later, after which S3 also drops the then-lone delete marker.
        {
          id: 'ExpireCaptures',
          prefix: CAPTURES_PREFIX,
          expiration: Duration.days(captureRetentionDays(props)),
          noncurrentVersionExpiration: Duration.days(1),
        },
        // Deleted versions' artifacts: the registry tags them (core/registry/deletion.ts) rather
        // than deleting them, so they outlive a mistaken deletion by the retention period. As
        // for captures, the hidden (still tagged) version goes a day after it became noncurrent.
        {
          id: 'ExpireDeletedArtifacts',
          tagFilters: { [DELETED_ARTIFACT_TAG.key]: DELETED_ARTIFACT_TAG.value },
          expiration: Duration.days(
            wholeDays(
              'deletedArtifactRetentionDays',
              props.deletedArtifactRetentionDays ?? DELETED_ARTIFACT_RETENTION_DAYS,
            ),
          ),
          noncurrentVersionExpiration: Duration.days(1),
        },
      ],
      cors:
        origins && origins.length > 0
          ? [
              {
                allowedOrigins: [...origins],
                allowedMethods: [HttpMethods.GET, HttpMethods.PUT, HttpMethods.HEAD],
                allowedHeaders: ['*'],
                exposedHeaders: ['ETag'],
                maxAge: 3600,
              },
            ]
          : undefined,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  private queue(def: QueueDef): QueuePair {
    const dlq = new Queue(this, `${def.id}${DLQ_SUFFIX}`, {
      // SQS-managed SSE: encrypted at rest with no KMS grants for producers and consumers.
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The longest SQS allows: a failed message should outlive any holiday before someone looks.
      retentionPeriod: Duration.days(14),
    });
    const queue = new Queue(this, def.id, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(def.visibilityTimeoutSeconds),
      deadLetterQueue: { queue: dlq, maxReceiveCount: def.maxReceiveCount },
    });
    return { queue, dlq };
  }
}

function captureRetentionDays(props: StorageProps): number {
  return wholeDays('captureRetentionDays', props.captureRetentionDays ?? DEFAULT_CAPTURE_RETENTION_DAYS);
}

function wholeDays(prop: string, days: number): number {
  if (!Number.isInteger(days) || days < 1) {
    throw new Error(`${prop} must be a whole number of days (>= 1), got ${days}`);
  }
  return days;
}

function attribute(key: KeyDef): { name: string; type: AttributeType } {
  return { name: key.name, type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER };
}

/** Builds one resource per definition, keeping the definitions' keys. */
export function mapDefs<D extends Record<string, unknown>, R>(
  defs: D,
  build: (def: D[keyof D]) => R,
): Record<keyof D, R> {
  const out = {} as Record<keyof D, R>;
  for (const key of Object.keys(defs) as (keyof D)[]) out[key] = build(defs[key]);
  return out;
}
