/**
 * The CDK app (`cdk.json` runs it): instantiates Serval's stack from context and checks it with
 * cdk-nag's AwsSolutions pack. An unacknowledged nag error fails `cdk synth` and `cdk deploy`.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ServalStack } from '../lib/serval-stack.js';

const app = new App();
const props = ServalStack.propsFromContext(app.node);

new ServalStack(app, `Serval-${props.stage}`, {
  ...props,
  // Unset without AWS credentials: the stack is then environment-agnostic, so synth works offline.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
