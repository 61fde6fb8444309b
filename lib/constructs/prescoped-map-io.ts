import type * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/**
 * A Distributed Map's S3 reader and writer that add no IAM statements of their own. Given a bucket path, CDK would
 * grant their S3 actions on `*`; the workflows grant the exact keys and prefixes themselves (grantDistributedMaps in
 * batch-map-access.ts, grantTrainingPrepareMaps in training-prepare.ts).
 */
export class PrescopedJsonItemReader extends sfn.S3JsonItemReader {
  override providePolicyStatements(): iam.PolicyStatement[] {
    return [];
  }
}

/** See {@link PrescopedJsonItemReader}. */
export class PrescopedResultWriter extends sfn.ResultWriterV2 {
  override providePolicyStatements(): iam.PolicyStatement[] {
    return [];
  }
}
