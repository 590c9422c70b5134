/**
 * The TrainingBackend port on SageMaker's CreateTrainingJob, DescribeTrainingJob and
 * StopTrainingJob (SDK v3). On AWS the client uses SageMaker's regional endpoint; locally
 * AWS_ENDPOINT_URL_SAGEMAKER points it at the stand-in (local/services/sagemaker-training.ts).
 */
import {
  CreateTrainingJobCommand,
  DescribeTrainingJobCommand,
  SageMakerClient,
  SageMakerServiceException,
  StopTrainingJobCommand,
} from '@aws-sdk/client-sagemaker';
import type {
  TrainingBackend,
  TrainingJobInput,
  TrainingJobState,
  TrainingStatus,
} from '../core/retraining/sagemaker-training.js';
import { TRAINING_STATUSES } from '../core/retraining/sagemaker-training.js';
import type { ClientOverrides } from './aws-clients.js';

export function sagemakerClient(o: ClientOverrides = {}): SageMakerClient {
  return new SageMakerClient({
    endpoint: o.endpoint,
    region: o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION,
    credentials: o.credentials,
  });
}

const named = (err: unknown, ...names: string[]) =>
  err instanceof SageMakerServiceException && names.includes(err.name);

export class SageMakerTrainingBackend implements TrainingBackend {
  constructor(private readonly client: SageMakerClient) {}

  async start(name: string, input: TrainingJobInput): Promise<'created' | 'exists'> {
    try {
      await this.client.send(
        new CreateTrainingJobCommand({
          TrainingJobName: name,
          AlgorithmSpecification: { TrainingImage: input.image, TrainingInputMode: 'File' },
          RoleArn: input.roleArn,
          HyperParameters: { ...input.hyperparameters },
          InputDataConfig: [
            {
              ChannelName: 'train',
              ContentType: 'text/csv',
              DataSource: {
                S3DataSource: {
                  S3DataType: 'S3Prefix',
                  S3Uri: input.inputUri,
                  S3DataDistributionType: 'FullyReplicated',
                },
              },
            },
          ],
          OutputDataConfig: { S3OutputPath: input.outputUri },
          ResourceConfig: {
            InstanceType: input.instanceType as never,
            InstanceCount: input.instanceCount,
            VolumeSizeInGB: input.volumeSizeGb,
          },
          StoppingCondition: { MaxRuntimeInSeconds: input.maxRuntimeSeconds },
          Tags: [{ Key: 'serval', Value: 'retraining' }],
        }),
      );
      return 'created';
    } catch (err) {
      // A redelivered start: the job of that name is the one to follow.
      if (named(err, 'ResourceInUse')) return 'exists';
      throw err;
    }
  }

  async describe(name: string): Promise<TrainingJobState | undefined> {
    try {
      const out = await this.client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
      const status = out.TrainingJobStatus as TrainingStatus;
      if (!TRAINING_STATUSES.includes(status))
        throw new Error(`SageMaker answered an unknown status ${String(status)} for ${name}`);
      return {
        status,
        ...(out.SecondaryStatus ? { secondaryStatus: out.SecondaryStatus } : {}),
        ...(out.FailureReason ? { failureReason: out.FailureReason } : {}),
        ...(out.ModelArtifacts?.S3ModelArtifacts
          ? { modelArtifactUri: out.ModelArtifacts.S3ModelArtifacts }
          : {}),
      };
    } catch (err) {
      // SageMaker answers an unknown name with ValidationException ("Requested resource not found").
      if (
        named(err, 'ResourceNotFound') ||
        (named(err, 'ValidationException') && /not found/i.test((err as Error).message))
      )
        return undefined;
      throw err;
    }
  }

  async stop(name: string): Promise<void> {
    try {
      await this.client.send(new StopTrainingJobCommand({ TrainingJobName: name }));
    } catch (err) {
      // Already ended (or stopping): nothing left to stop.
      if (named(err, 'ValidationException', 'ResourceNotFound')) return;
      throw err;
    }
  }
}
