/**
 * Reading a failed Distributed Map's first failed item from its ResultWriter files: the parsing (pure) and the lookup
 * against S3 on moto_server, including every way the files can be missing or malformed (never a throw).
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { LOAD_RESULTS_PREFIX, mapRunsPrefix, PREPARE_RESULTS_PREFIX } from '../../../contracts/s3-layout';
import {
  findFailedMapItem,
  firstFailedExecution,
  MAX_FAILED_FILE_BYTES,
  mapLabelOf,
  parseMapRunManifest,
} from '../../../lambdas/data/map-run-failure';
import { createBucket, testClients } from '../../support/aws';
import { describeWithServers } from '../../support/servers';

const MAP_RUN = 'arn:aws:states:us-east-1:123456789012:mapRun:mlops-batch-dev-batch/PrepareTasks:5f0c3c1e-1111';
const lambdaCause = (type: string, message: string) =>
  JSON.stringify({ errorType: type, errorMessage: message, trace: [`${type}: ${message}`, '    at x (y.js:1:1)'] });
/** One failed child execution as Step Functions writes it in FAILED_<n>.json. */
const failedRecord = (error: string, cause: string) => ({
  ExecutionArn: `${MAP_RUN.replace(':mapRun:', ':execution:')}:abc`,
  Input: '{"task":1}',
  InputDetails: { Included: true },
  Name: 'abc',
  Error: error,
  Cause: cause,
  Status: 'FAILED',
  StartDate: '2026-12-01T00:00:00.000Z',
  StopDate: '2026-12-01T00:00:01.000Z',
});

describe('ResultWriter file parsing', () => {
  it('reads the FAILED files and the map run of a manifest', () => {
    const manifest = {
      DestinationBucket: 'b',
      MapRunArn: MAP_RUN,
      ResultFiles: {
        FAILED: [{ Key: 'p/r/id/FAILED_0.json', Size: 1234 }],
        PENDING: [],
        SUCCEEDED: [{ Key: 'p/r/id/SUCCEEDED_0.json', Size: 10 }],
      },
    };
    expect(parseMapRunManifest(JSON.stringify(manifest))).toEqual({
      mapRunArn: MAP_RUN,
      failed: [{ key: 'p/r/id/FAILED_0.json', size: 1234 }],
    });
    expect(parseMapRunManifest(JSON.stringify({ ResultFiles: {} }))).toEqual({ failed: [] });
  });

  it('rejects what is not a manifest (undefined, no throw)', () => {
    for (const text of ['', 'not json', '[]', '{}', '{"ResultFiles":[]}', '{"ResultFiles":{"FAILED":{}}}']) {
      expect(parseMapRunManifest(text)).toBeUndefined();
    }
    // Entries without a key are skipped, not trusted.
    expect(parseMapRunManifest('{"ResultFiles":{"FAILED":[{"Size":3},{"Key":""},7]}}')).toEqual({ failed: [] });
  });

  it('takes the first failed execution with an Error, from a JSON array or JSON Lines', () => {
    const records = [
      { Status: 'FAILED' },
      failedRecord('ValidationError', lambdaCause('ValidationError', 'x.csv line 3: bad')),
      failedRecord('IntegrityError', 'second'),
    ];
    const expected = { error: 'ValidationError', cause: lambdaCause('ValidationError', 'x.csv line 3: bad') };
    expect(firstFailedExecution(JSON.stringify(records))).toEqual(expected);
    expect(firstFailedExecution(records.map((r) => JSON.stringify(r)).join('\n'))).toEqual(expected);
    expect(firstFailedExecution(JSON.stringify([{ Error: 'States.Timeout' }]))).toEqual({ error: 'States.Timeout' });
  });

  it('finds nothing in an empty, truncated or foreign file', () => {
    for (const text of ['', '[]', '[{"Status":"FAILED"}]', '[{"Error":', '{"a":1}\n{"b":', '"text"', 'null']) {
      expect(firstFailedExecution(text)).toBeUndefined();
    }
  });

  it('names the map from its map run ARN', () => {
    expect(mapLabelOf(MAP_RUN)).toBe('PrepareTasks');
    expect(mapLabelOf('arn:aws:states:us-east-1:1:mapRun:machine/LoadScores:0a-1b')).toBe('LoadScores');
    expect(mapLabelOf('arn:aws:states:us-east-1:1:stateMachine:m')).toBeUndefined();
    expect(mapLabelOf(undefined)).toBeUndefined();
  });
});

describeWithServers('findFailedMapItem on S3 (moto)', { moto: true }, (env) => {
  let s3: S3Client;
  let bucket: string;
  const put = (key: string, body: unknown) =>
    s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: typeof body === 'string' ? body : JSON.stringify(body) }),
    );
  /** A map run's ResultWriter folder for `runId` under `prefix`, as Step Functions writes it. */
  const mapRun = async (prefix: string, runId: string, failed: unknown[] | string | undefined, id = 'run-1') => {
    const folder = `${mapRunsPrefix(prefix, runId)}${id}/`;
    const files = failed === undefined ? [] : [{ Key: `${folder}FAILED_0.json`, Size: 100 }];
    if (failed !== undefined) await put(`${folder}FAILED_0.json`, failed);
    await put(`${folder}manifest.json`, {
      DestinationBucket: bucket,
      MapRunArn: MAP_RUN,
      ResultFiles: { FAILED: files, PENDING: [], SUCCEEDED: [] },
    });
    return folder;
  };

  beforeAll(async () => {
    s3 = testClients(env.moto.endpoint).s3;
    bucket = await createBucket(s3);
  });

  it("finds the first failed item of the run's failed map run", async () => {
    // Another run's failure under the same prefix is not this run's.
    await mapRun(PREPARE_RESULTS_PREFIX, 'other-run', [failedRecord('IntegrityError', 'not this one')]);
    const folder = await mapRun(PREPARE_RESULTS_PREFIX, 'run-a', [
      failedRecord('ValidationError', lambdaCause('ValidationError', 's3://f/x.csv line 3: bad')),
    ]);
    const found = await findFailedMapItem(s3, bucket, [PREPARE_RESULTS_PREFIX, LOAD_RESULTS_PREFIX], 'run-a');
    expect(found).toEqual({
      item: {
        map: 'PrepareTasks',
        error: 'ValidationError',
        cause: lambdaCause('ValidationError', 's3://f/x.csv line 3: bad'),
        resultsUri: `s3://${bucket}/${folder}FAILED_0.json`,
      },
    });
  });

  it('looks under each prefix: a map run without failures is passed over', async () => {
    await mapRun(PREPARE_RESULTS_PREFIX, 'run-b', undefined);
    await mapRun(LOAD_RESULTS_PREFIX, 'run-b', [failedRecord('DependencyError', 'redis down')]);
    const found = await findFailedMapItem(s3, bucket, [PREPARE_RESULTS_PREFIX, LOAD_RESULTS_PREFIX], 'run-b');
    expect(found.item).toMatchObject({ error: 'DependencyError', cause: 'redis down' });
  });

  it('says why when there is nothing to read, and never throws', async () => {
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      ['absent', async () => undefined, /no map run results under s3:\/\/.*\/batch\/prepare-results\/run-absent\//],
      ['no-failed', () => mapRun(PREPARE_RESULTS_PREFIX, 'run-no-failed', undefined), /lists a FAILED file/],
      [
        'bad-manifest',
        () => put(`${mapRunsPrefix(PREPARE_RESULTS_PREFIX, 'run-bad-manifest')}id/manifest.json`, '{"Result'),
        /manifest\.json is not a ResultWriter manifest/,
      ],
      [
        'bad-failed',
        () => mapRun(PREPARE_RESULTS_PREFIX, 'run-bad-failed', '[{"Error": "Valid'),
        /FAILED_0\.json holds no failed execution with an Error/,
      ],
      [
        'missing-failed',
        async () => {
          const folder = `${mapRunsPrefix(PREPARE_RESULTS_PREFIX, 'run-missing-failed')}id/`;
          await put(`${folder}manifest.json`, { ResultFiles: { FAILED: [{ Key: `${folder}FAILED_0.json` }] } });
        },
        /reading s3:\/\/.* failed: NoSuchKey/,
      ],
      [
        'huge-failed',
        async () => {
          const folder = `${mapRunsPrefix(PREPARE_RESULTS_PREFIX, 'run-huge-failed')}id/`;
          await put(`${folder}manifest.json`, {
            ResultFiles: { FAILED: [{ Key: `${folder}FAILED_0.json`, Size: MAX_FAILED_FILE_BYTES + 1 }] },
          });
        },
        /more than the \d+ read in a failure path/,
      ],
    ];
    for (const [name, setup, why] of cases) {
      await setup();
      const found = await findFailedMapItem(s3, bucket, [PREPARE_RESULTS_PREFIX], `run-${name}`);
      expect({ name, item: found.item }).toEqual({ name, item: undefined });
      expect(found.problem).toMatch(why);
    }
    // S3 refusing (here: no such bucket) is a problem too, with every prefix tried.
    const refused = await findFailedMapItem(s3, 'no-such-bucket-f', [PREPARE_RESULTS_PREFIX, LOAD_RESULTS_PREFIX], 'r');
    expect(refused.problem).toMatch(/prepare-results\/r\/ failed: NoSuchBucket.*; reading .*load-results\/r\/ failed/);
  });
});
