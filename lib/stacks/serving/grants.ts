import { Aws, type Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { LOAD_RESULTS_PREFIX, RESULTS_PREFIX } from '../../../contracts/s3-layout';
import { productionKey } from '../../../contracts/table-keys';
import type { ProjectFunction } from '../../constructs/project-function';
import { acknowledge, iam5ResourceId } from '../../nag';

/** What {@link grantServingFunctions} grants on. */
export interface ServingGrants {
  readonly loader: ProjectFunction;
  readonly finalizer: ProjectFunction;
  readonly reader: ProjectFunction;
  /** Secret holding the cache AUTH token. */
  readonly cacheAuthSecretArn: string;
  /** The data stack's key (secret, table, results/ objects). */
  readonly encryptionKey: kms.IKey;
  /** Pipeline table: the finalizer and the reader read its Production pointer item only. */
  readonly table: dynamodb.ITable;
  /** Name of the artifacts bucket holding `results/`. */
  readonly artifactsBucketName: string;
}

/** `kms:Decrypt` on `key`, only when `service` calls it on the function's behalf. */
const decryptVia = (stack: Stack, sid: string, key: kms.IKey, service: string) =>
  new iam.PolicyStatement({
    sid,
    actions: ['kms:Decrypt'],
    resources: [key.keyArn],
    conditions: { StringEquals: { 'kms:ViaService': `${service}.${stack.region}.amazonaws.com` } },
  });

/**
 * The serving functions' grants: the AUTH secret (all three), the Production pointer (finalizer, reader), the result
 * files (loader) and the load results (finalizer).
 *
 * Explicit statements instead of secret.grantRead()/key.grantDecrypt(): those would add this stack's roles to the
 * data stack's key policy (a cross-stack cycle). The key policy trusts the account, so IAM policies suffice; the
 * kms:ViaService condition limits each decrypt to the service that needs it.
 */
export function grantServingFunctions(stack: Stack, g: ServingGrants): void {
  const key = g.encryptionKey;
  for (const fn of [g.loader, g.finalizer, g.reader]) {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadCacheAuthToken',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [g.cacheAuthSecretArn],
      }),
    );
    fn.addToRolePolicy(decryptVia(stack, 'DecryptCacheAuthToken', key, 'secretsmanager'));
  }
  // The finalizer and the reader read one item of the table: the Production pointer (its partition key only).
  for (const fn of [g.finalizer, g.reader]) {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadProductionPointer',
        actions: ['dynamodb:GetItem'],
        resources: [g.table.tableArn],
        conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [productionKey().pk] } },
      }),
    );
    fn.addToRolePolicy(decryptVia(stack, 'DecryptPipelineTable', key, 'dynamodb'));
  }
  // The loader reads result files only (results/ is SSE-KMS with the data key).
  const resultsObjects = `arn:${Aws.PARTITION}:s3:::${g.artifactsBucketName}/${RESULTS_PREFIX}*`;
  g.loader.addToRolePolicy(
    new iam.PolicyStatement({ sid: 'ReadTransformResults', actions: ['s3:GetObject'], resources: [resultsObjects] }),
  );
  acknowledge(g.loader.role!, {
    id: iam5ResourceId(stack, resultsObjects),
    reason:
      'LoadScores reads whichever result file the BatchInference Map hands it (results/model_version=N/run=R/part.out); ' +
      'the grant is GetObject only and limited to the results/ prefix.',
  });
  g.loader.addToRolePolicy(decryptVia(stack, 'DecryptTransformResults', key, 's3'));

  // The finalizer reads the LoadScores Distributed Map's per-part results (ResultWriter files, SSE-KMS).
  const loadResults = `arn:${Aws.PARTITION}:s3:::${g.artifactsBucketName}/${LOAD_RESULTS_PREFIX}*`;
  g.finalizer.addToRolePolicy(
    new iam.PolicyStatement({ sid: 'ReadLoadResults', actions: ['s3:GetObject'], resources: [loadResults] }),
  );
  acknowledge(g.finalizer.role!, {
    id: iam5ResourceId(stack, loadResults),
    reason:
      'FinalizeScores reads the manifest and result files the LoadScores Distributed Map wrote under a map-run id ' +
      'known only at run time; GetObject only, limited to that prefix.',
  });
  g.finalizer.addToRolePolicy(decryptVia(stack, 'DecryptLoadResults', key, 's3'));
}
