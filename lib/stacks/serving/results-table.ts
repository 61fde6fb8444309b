import type { Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import { RESULTS_PREFIX, resultsPrefix, s3Uri } from '../../../contracts/s3-layout';
import type { AppConfig } from '../../config';

/** Names of the Glue database and table {@link addResultsTable} creates. */
export interface ResultsTable {
  readonly databaseName: string;
  readonly tableName: string;
}

/**
 * Offline score storage in `stack`: a Glue database and a table over `results/` (partition projection on
 * model_version and run) for Athena.
 */
export function addResultsTable(stack: Stack, config: AppConfig, artifactsBucketName: string): ResultsTable {
  const databaseName = `${config.namePrefix}_${config.envName}`.replace(/-/g, '_');
  const tableName = 'scores';
  const database = new glue.CfnDatabase(stack, 'ResultsDatabase', {
    catalogId: stack.account,
    databaseInput: { name: databaseName, description: 'Batch scoring results (offline storage)' },
  });
  const table = new glue.CfnTable(stack, 'ResultsTable', {
    catalogId: stack.account,
    databaseName,
    tableInput: {
      name: tableName,
      description: 'Transform results: entity_id, segment, score per model version and run',
      tableType: 'EXTERNAL_TABLE',
      parameters: {
        classification: 'csv',
        EXTERNAL: 'TRUE',
        'projection.enabled': 'true',
        'projection.model_version.type': 'integer',
        'projection.model_version.range': '1,1000000',
        'projection.run.type': 'injected',
        // Glue substitutes the partition values into the same layout the transform writes.
        'storage.location.template': s3Uri(artifactsBucketName, resultsPrefix(`\${model_version}`, `\${run}`)),
      },
      partitionKeys: [
        { name: 'model_version', type: 'int' },
        { name: 'run', type: 'string' },
      ],
      storageDescriptor: {
        location: s3Uri(artifactsBucketName, RESULTS_PREFIX),
        inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
        outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
        serdeInfo: {
          serializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
          parameters: { 'field.delim': ',' },
        },
        columns: [
          { name: 'entity_id', type: 'string' },
          { name: 'segment', type: 'string' },
          { name: 'score', type: 'double' },
        ],
      },
    },
  });
  table.addResourceDependency(database);
  return { databaseName, tableName };
}
