import { Agent } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { traced } from './tracer';

/**
 * Client factories used by handlers (module scope, created once per container) and by the local runtime; each client
 * is captured by the X-Ray tracer (tracer.ts).
 *
 * The SDK reads `AWS_ENDPOINT_URL` itself; when it is set (local runtime, integration tests against
 * moto_server) S3 additionally needs path-style addressing because the emulator has no DNS per bucket.
 */
const endpoint = () => process.env.AWS_ENDPOINT_URL || undefined;
const base = () => (endpoint() ? { endpoint: endpoint() } : {});

export const s3Client = () => traced(new S3Client({ ...base(), forcePathStyle: Boolean(endpoint()) }));

/**
 * Against a DynamoDB emulator on loopback (moto_server), every DynamoDB client of this process shares one
 * connection: moto checks a ConditionExpression and then writes without a lock, so two requests on two of its threads
 * can both pass the check (two executions both took the batch lock under load). DynamoDB serializes the writes to
 * one item; one connection makes the emulator do the same for the requests of one process.
 */
let emulatorAgent: Agent | undefined;
const LOOPBACK = /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/;
const dynamoBase = () => {
  const url = endpoint();
  if (url === undefined || !LOOPBACK.test(url)) return base();
  emulatorAgent ??= new Agent({ keepAlive: true, maxSockets: 1 });
  return { endpoint: url, requestHandler: { httpAgent: emulatorAgent } };
};

export const dynamoClient = () => traced(new DynamoDBClient(dynamoBase()));
export const docClient = (client: DynamoDBClient = dynamoClient()) =>
  DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
export const sageMakerClient = () => traced(new SageMakerClient(base()));
export const sfnClient = () => traced(new SFNClient(base()));
export const snsClient = () => traced(new SNSClient(base()));
