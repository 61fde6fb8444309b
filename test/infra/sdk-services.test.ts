import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { REPO_ROOT } from '../../lib/constructs/project-function';
import { directlyGrantedServices, endpointNeedsOf, sdkPackagesOf } from '../../lib/constructs/sdk-services';

const handler = (name: string) => path.join(REPO_ROOT, 'lambdas/functions', name, 'handler.ts');
const fixture = (name: string) => path.join(__dirname, 'fixtures/vpc-code', `${name}.ts`);

describe('interface endpoints derived from the code that runs in the VPC', () => {
  test('the SDK packages a handler bundle reaches (read-scores: Secrets Manager and, for the Production pointer, DynamoDB)', () => {
    // Through lambdas/platform/clients.ts the bundle reaches every client it declares; the role decides which count.
    expect(sdkPackagesOf(handler('read-scores'))).toEqual(
      expect.arrayContaining(['@aws-sdk/client-secrets-manager', '@aws-sdk/client-dynamodb']),
    );
    expect(sdkPackagesOf(handler('read-scores'))).not.toContain('@aws-sdk/client-cloudformation');
    expect(sdkPackagesOf(fixture('no-sdk'))).toEqual([]);
  });

  test('a service counts only when the code reaches its client and the role grants its actions', () => {
    // load-scores' bundle reaches every client of lambdas/platform/clients.ts, but its role calls S3 and Secrets
    // Manager only (S3 is a gateway endpoint).
    const load = endpointNeedsOf([
      { entry: handler('load-scores'), grantedServices: new Set(['s3', 'secretsmanager', 'kms', 'logs']) },
    ]);
    expect([...load.interfaces.keys()]).toEqual(['secretsmanager']);
    expect(load.packages).toContain('@aws-sdk/client-sagemaker');
    const notify = endpointNeedsOf([{ entry: handler('notify'), grantedServices: new Set(['sns']) }]);
    expect([...notify.interfaces.keys()]).toEqual(['sns']);
    const none = endpointNeedsOf([{ entry: fixture('no-sdk'), grantedServices: new Set(['sns', 'states']) }]);
    expect(none.interfaces.size).toBe(0);
  });

  test('an unclassified SDK client fails with the handler and package named', () => {
    expect(() =>
      endpointNeedsOf([{ entry: fixture('unclassified-client'), grantedServices: new Set(['lambda']) }]),
    ).toThrow(/unclassified-client\.ts runs in the VPC and imports @aws-sdk\/client-lambda.*SDK_PACKAGE_ENDPOINTS/);
  });

  test('grants limited by kms:ViaService are not direct calls', () => {
    const stack = new Stack(new App(), 'S');
    const role = new iam.Role(stack, 'R', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      inlinePolicies: {
        Base: new iam.PolicyDocument({
          statements: [new iam.PolicyStatement({ actions: ['logs:PutLogEvents'], resources: ['*'] })],
        }),
      },
    });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: ['*'] }));
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
      }),
    );
    expect([...directlyGrantedServices(role)].sort()).toEqual(['logs', 'secretsmanager']);
  });
});
