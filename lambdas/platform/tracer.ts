import { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * The functions' X-Ray tracer (the functions run with active tracing). Every SDK client the handlers build is
 * captured, so each AWS call is a subsegment with its service, operation and outcome. Outside Lambda (tests, the local
 * runtime) Powertools turns tracing off by itself and `captureAWSv3Client` returns the client unchanged.
 */
export const tracer = new Tracer();

/** The client, captured for X-Ray when tracing is on. */
export const traced = <C extends object>(client: C): C => tracer.captureAWSv3Client(client);
