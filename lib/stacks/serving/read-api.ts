import { RemovalPolicy, type Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { AppConfig } from '../../config';
import { acknowledge } from '../../nag';

/** Stage of the read API (a literal: the execution log group's name needs it without a reference to the stage). */
export const API_STAGE = 'v1';

/** What {@link addReadApi} needs. */
export interface ReadApiProps {
  /** Validated settings (uses `api`, `namePrefix`, `envName`, `logRetentionDays`). */
  readonly config: AppConfig;
  /** Customer-managed key of the access and execution log groups. */
  readonly encryptionKey: kms.IKey;
  /** The function behind both methods (proxy integration). */
  readonly reader: lambda.IFunction;
}

/** The read API and its execution log group. */
export interface ReadApi {
  readonly api: apigw.RestApi;
  /** Execution log group of the API's stage (`API-Gateway-Execution-Logs_<api id>/<stage>`). */
  readonly executionLogGroup: logs.LogGroup;
}

/**
 * The score read API in `stack` (REST, IAM auth, stage throttling, KMS-encrypted access and execution logs, request
 * validation): GET /scores/{entityId}, POST /scores/batch. Constructs are the stack's own children, so their logical
 * ids do not depend on this module.
 */
export function addReadApi(stack: Stack, props: ReadApiProps): ReadApi {
  const { config, encryptionKey: key } = props;
  const accessLogs = new logs.LogGroup(stack, 'ApiAccessLogs', {
    retention: config.logRetentionDays as logs.RetentionDays,
    encryptionKey: key,
    removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
  });
  const api = new apigw.RestApi(stack, 'ReadApi', {
    restApiName: `${config.namePrefix}-${config.envName}-scores`,
    description: 'Score read API (IAM auth): GET /scores/{entityId}, POST /scores/batch',
    endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
    cloudWatchRole: true,
    cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    defaultMethodOptions: { authorizationType: apigw.AuthorizationType.IAM },
    deployOptions: {
      stageName: API_STAGE,
      throttlingRateLimit: config.api.throttleRateLimit,
      throttlingBurstLimit: config.api.throttleBurstLimit,
      accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
      accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
      loggingLevel: apigw.MethodLoggingLevel.ERROR,
      dataTraceEnabled: false,
      metricsEnabled: true,
      tracingEnabled: true,
    },
  });
  // Execution logging (loggingLevel ERROR) writes to `API-Gateway-Execution-Logs_<api id>/<stage>`, a group API
  // Gateway would otherwise create itself, unencrypted and never expiring. Created here first (the stage depends on
  // it), with the project key and retention; its name follows the API id, so a retried first deploy never collides.
  const executionLogGroup = new logs.LogGroup(stack, 'ApiExecutionLogs', {
    logGroupName: `API-Gateway-Execution-Logs_${api.restApiId}/${API_STAGE}`,
    retention: config.logRetentionDays as logs.RetentionDays,
    encryptionKey: key,
    removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
  });
  api.deploymentStage.node.addDependency(executionLogGroup);
  acknowledgeApiFindings(api);
  addScoreMethods(stack, api, config, props.reader);
  return { api, executionLogGroup };
}

function acknowledgeApiFindings(api: apigw.RestApi): void {
  acknowledge(api, {
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
    reason:
      'Account-level API Gateway CloudWatch role (execution logging, required by APIG6): AWS documents this managed ' +
      'policy for it; it is assumed by apigateway.amazonaws.com only.',
  });
  acknowledge(
    api,
    {
      id: 'AwsSolutions-APIG3',
      reason:
        'IAM-authorized internal API (SigV4-signed callers only, no anonymous traffic) with stage throttling; a WAF ' +
        'web ACL adds cost without protecting anything IAM auth does not already reject.',
    },
    {
      id: 'AwsSolutions-COG4',
      reason: 'Callers are AWS principals (services, operators) authorized with IAM (SigV4), not Cognito end users.',
    },
  );
}

function addScoreMethods(stack: Stack, api: apigw.RestApi, config: AppConfig, reader: lambda.IFunction): void {
  const integration = new apigw.LambdaIntegration(reader, { proxy: true });
  // One validator checking parameters and body (cdk-nag APIG2 wants both on); GET has no body to check.
  const validator = new apigw.RequestValidator(stack, 'ValidateRequests', {
    restApi: api,
    validateRequestParameters: true,
    validateRequestBody: true,
  });
  const batchModel = api.addModel('BatchRequest', {
    contentType: 'application/json',
    modelName: 'BatchRequest',
    description: `Batch lookup: 1..${config.api.maxBatchIds} entity ids`,
    schema: {
      schema: apigw.JsonSchemaVersion.DRAFT4,
      title: 'BatchRequest',
      type: apigw.JsonSchemaType.OBJECT,
      required: ['ids'],
      additionalProperties: false,
      properties: {
        ids: {
          type: apigw.JsonSchemaType.ARRAY,
          minItems: 1,
          maxItems: config.api.maxBatchIds,
          items: { type: apigw.JsonSchemaType.STRING, minLength: 1, maxLength: 128 },
        },
      },
    },
  });
  const scores = api.root.addResource('scores');
  scores.addResource('{entityId}').addMethod('GET', integration, {
    requestParameters: { 'method.request.path.entityId': true },
    requestValidator: validator,
  });
  scores.addResource('batch').addMethod('POST', integration, {
    requestModels: { 'application/json': batchModel },
    requestValidator: validator,
  });
}
