/**
 * Bad input: every kind of malformed feature file the contract validator knows, run through the REAL
 * BatchInference state machine (arrival handler → FindUnscored → PrepareInferenceData → … → CommitLedger) in one run;
 * a malformed contract inside a model's preprocessing spec; a malformed config value through the real CDK app; the
 * read API's bad requests and a dead cache through the real handler; bad CLI arguments through the real launcher.
 * Each must fail or quarantine with a message naming what and where — and nothing may be lost on the way.
 *
 * The unit tests (test/lambdas/data/validator.test.ts, contract.test.ts) cover each rule's edge cases; this file
 * checks that each reaches the operator end to end: the validation report names file, line, column and rule, the
 * quarantine holds the row (or the whole file) with its reasons, the ledger says what happened, and the counts add up.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import Redis from 'ioredis';
import { BatchState as S } from '../../contracts/states/names';
import type { FileReport, Rule, ValidationReport, Violation } from '../../lambdas/data/validation-report';
import { getLedgerItem } from '../../lambdas/domain/ledger';
import { getLock } from '../../lambdas/domain/lock';
import { updateApprovalStatus } from '../../lambdas/domain/registry';
import { synthesizeApp } from '../../local/runtime/synth';
import { storedScores } from '../support/score-dump';
import { describeWithServers } from '../support/servers';
import { ids, Pipeline, parseUri, SUCCESS_PATH, snapshot } from './support/pipeline';
import { type KillableRedis, killableRedisAvailable, startKillableRedis } from './support/redis-process';

const describeSkipped: typeof describeWithServers = (name, _request, fn) =>
  describe.skip(name, () => fn({} as Parameters<typeof fn>[0]));

const DT = '2026-11-20';
const RUN = 'batch-bad-input-1';
const keyOf = (name: string) => `inference/dt=${DT}/${name}.csv`;

interface BadFile {
  /** File name (also the S3 key's base name). */
  readonly name: string;
  readonly rule: Rule;
  /** 'file': the file fails as a whole (quarantined object); 'row': the row is quarantined, the rest is scored. */
  readonly level: 'file' | 'row';
  readonly line: number;
  readonly column: string | null;
  readonly body: string | Buffer;
  /** S3 key when it is not `inference/dt=<DT>/<name>.csv`. */
  readonly key?: string;
  /** Rows of the file (data lines). */
  readonly rows: number;
}

const N = 20;
/** A good file of N rows with row `i` (line i+2) edited. */
const withRow = (prefix: string, i: number, edit: (row: Record<string, string>) => void) =>
  snapshot('inference', DT, ids(prefix, N), (k, row) => {
    if (k === i) edit(row);
  });
const lines = (text: string) => text.split('\n');

const header = lines(snapshot('inference', DT, []))[0]!.split(',');
const dropColumn = (text: string, column: string) => {
  const idx = header.indexOf(column);
  return lines(text)
    .map((l) =>
      l === ''
        ? l
        : l
            .split(',')
            .filter((_, j) => j !== idx)
            .join(','),
    )
    .join('\n');
};

const BAD_FILES: readonly BadFile[] = [
  // -- row level: the row goes to quarantine with its reasons, the others are scored ------------------------------
  {
    name: 'wrong-type',
    rule: 'wrong_type',
    level: 'row',
    line: 3,
    column: 'tenure_months',
    rows: N,
    body: withRow('WT', 1, (r) => {
      r.tenure_months = 'twelve';
    }),
  },
  {
    name: 'out-of-range',
    rule: 'out_of_range',
    level: 'row',
    line: 4,
    column: 'monthly_charges',
    rows: N,
    body: withRow('OR', 2, (r) => {
      r.monthly_charges = '20000';
    }),
  },
  {
    name: 'null-not-allowed',
    rule: 'null_not_allowed',
    level: 'row',
    line: 5,
    column: 'plan',
    rows: N,
    body: withRow('NN', 3, (r) => {
      r.plan = '';
    }),
  },
  {
    name: 'unknown-category',
    rule: 'unknown_category',
    level: 'row',
    line: 6,
    column: 'region',
    rows: N,
    body: withRow('UC', 4, (r) => {
      r.region = 'central';
    }),
  },
  {
    name: 'duplicate-entity',
    rule: 'duplicate_entity',
    level: 'row',
    line: 3,
    column: 'customer_id',
    rows: N,
    body: withRow('DE', 1, (r) => {
      r.customer_id = 'DE00000';
    }),
  },
  {
    name: 'as-of-mismatch',
    rule: 'as_of_mismatch',
    level: 'row',
    line: 7,
    column: 'as_of',
    rows: N,
    body: withRow('AM', 5, (r) => {
      r.as_of = '2026-11-19';
    }),
  },
  {
    name: 'ragged-row',
    rule: 'ragged_row',
    level: 'row',
    line: 8,
    column: null,
    rows: N,
    body: lines(snapshot('inference', DT, ids('RR', N)))
      .map((l, i) => (i === 7 ? `${l},extra` : l))
      .join('\n'),
  },
  {
    name: 'enormous-line',
    rule: 'enormous_line',
    level: 'row',
    line: 4,
    column: null,
    rows: N,
    body: withRow('EL', 2, (r) => {
      r.region = 'x'.repeat(70_000);
    }),
  },
  {
    name: 'malformed-csv',
    rule: 'malformed_csv',
    level: 'row',
    line: N + 1,
    column: null,
    rows: N,
    // the last row has an unterminated quote
    body: snapshot('inference', DT, ids('MC', N), (k, r) => {
      if (k === N - 1) r.region = '"north';
    }),
  },
  {
    name: 'invalid-utf8',
    rule: 'invalid_utf8',
    level: 'row',
    line: 9,
    column: 'region',
    rows: N,
    body: Buffer.concat(
      lines(
        snapshot('inference', DT, ids('IU', N), (k, r) => {
          if (k === 7) r.region = 'n\u00e9';
        }),
      ).map((l, i, all) => {
        const b = Buffer.from(l + (i < all.length - 1 ? '\n' : ''), 'utf8');
        return i === 8 ? Buffer.from(b.toString('latin1').replace('n\u00c3\u00a9', 'n\u00ff'), 'latin1') : b;
      }),
    ),
  },
  // -- file level: the whole object is quarantined (ledger QUARANTINED), the run goes on with the others ----------
  {
    name: 'missing-column',
    rule: 'header_missing_column',
    level: 'file',
    line: 1,
    column: 'logins_30d',
    rows: N,
    body: dropColumn(snapshot('inference', DT, ids('MS', N)), 'logins_30d'),
  },
  {
    name: 'unexpected-column',
    rule: 'header_unexpected_column',
    level: 'file',
    line: 1,
    column: 'favourite_colour',
    rows: N,
    body: lines(snapshot('inference', DT, ids('UX', N)))
      .map((l, i) => (l === '' ? l : `${l},${i === 0 ? 'favourite_colour' : 'blue'}`))
      .join('\n'),
  },
  {
    name: 'duplicate-column',
    rule: 'header_duplicate_column',
    level: 'file',
    line: 1,
    column: 'plan',
    rows: N,
    body: lines(snapshot('inference', DT, ids('DC', N)))
      .map((l, i) => (l === '' ? l : `${l},${i === 0 ? 'plan' : 'basic'}`))
      .join('\n'),
  },
  { name: 'empty', rule: 'empty_file', level: 'file', line: 0, column: null, rows: 0, body: '' },
  {
    name: 'header-only',
    rule: 'empty_file',
    level: 'file',
    line: 0,
    column: null,
    rows: 0,
    body: snapshot('inference', DT, []),
  },
  {
    name: 'no-partition',
    rule: 'missing_partition_date',
    level: 'file',
    line: 0,
    column: null,
    rows: 0, // never read: the object is quarantined whole
    key: 'inference/undated/no-partition.csv',
    body: snapshot('inference', DT, ids('NP', N)),
  },
  {
    // a Latin-1 export: the header holds a byte that is not UTF-8
    name: 'latin1-header',
    rule: 'invalid_utf8',
    level: 'file',
    line: 1,
    column: null,
    rows: N,
    body: Buffer.from(snapshot('inference', DT, ids('LH', N)).replace('plan', 'pl\u00e4n'), 'latin1'),
  },
  {
    // a UTF-16 export (Excel "Unicode text"): decoded, but the contract says UTF-8
    name: 'utf16',
    rule: 'invalid_utf8',
    level: 'file',
    line: 1,
    column: null,
    // Read as bytes, the UTF-16 newline "\n\0" leaves a NUL after the last LF: one more physical line, quarantined
    // with the file like the rest (every physical line is accounted for).
    rows: N + 1,
    body: Buffer.from(`\ufeff${snapshot('inference', DT, ids('UT', N))}`, 'utf16le'),
  },
];

const keyFor = (f: BadFile) => f.key ?? keyOf(f.name);

const BLOCK = 'bad input end to end (moto + redis)';
(killableRedisAvailable(BLOCK) ? describeWithServers : describeSkipped)(BLOCK, { moto: true }, (env) => {
  let redisProc: KillableRedis;
  let p: Pipeline;
  let report: ValidationReport;
  let runOutput: { summary: Record<string, unknown> };
  let redis: Redis;

  beforeAll(async () => {
    redisProc = await startKillableRedis();
    redis = new Redis(redisProc.url, { maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    p = new Pipeline({ handlerEndpoint: env.moto.endpoint, motoEndpoint: env.moto.endpoint, redisUrl: redisProc.url });
    await p.provision();
    await updateApprovalStatus(p.sm, await p.registerModel('train-1'), 'Approved', 'approved in test');
    // A good file carries the run (the invalid-row ratio is computed over all readable files).
    await p.arrive(keyOf('good'), snapshot('inference', DT, ids('GOOD', 400)));
    for (const f of BAD_FILES) await p.arrive(keyFor(f), f.body);
    const res = await p.run(RUN);
    expect(res.error).toBeUndefined();
    expect(res.path).toEqual(SUCCESS_PATH);
    runOutput = res.output as typeof runOutput;
    report = JSON.parse(await p.text(`s3://${p.artifactsBucket}/reports/${RUN}/validation.json`)) as ValidationReport;
  }, 180_000);

  afterAll(async () => {
    redis?.disconnect();
    await redisProc?.stop();
  });

  it.each(BAD_FILES.map((f) => [`${f.rule} (${f.name})`, f] as const))(
    'malformed feature file: %s → named by file, line, column and rule; nothing lost',
    async (_label, f) => {
      const key = keyFor(f);
      const v = report.violations.find((x: Violation) => x.file === key && x.rule === f.rule);
      expect(v).toMatchObject({ file: key, line: f.line, column: f.column, rule: f.rule });
      expect(v!.message.length).toBeGreaterThan(5);
      const fileReport = report.files.find((x: FileReport) => x.file === key)!;
      const quarantined = `s3://${p.artifactsBucket}/quarantine/${RUN}/${key}`;
      const item = await getLedgerItem(p.doc, p.table, key);
      if (f.level === 'file') {
        expect(fileReport).toMatchObject({ status: 'failed', rowsIn: f.rows, rowsValid: 0, rowsQuarantined: f.rows });
        // The whole object is kept in quarantine byte for byte, with its report; the ledger says QUARANTINED.
        const copy = await p.s3.send(new GetObjectCommand(parseUri(quarantined)));
        const bytes = Buffer.from(await copy.Body!.transformToByteArray());
        expect(bytes.equals(Buffer.isBuffer(f.body) ? f.body : Buffer.from(f.body))).toBe(true);
        const fr = JSON.parse(await p.text(`${quarantined}.report.json`)) as FileReport;
        expect(fr.fileViolations).toEqual(
          expect.arrayContaining([expect.objectContaining({ rule: f.rule, line: f.line })]),
        );
        expect(item).toMatchObject({ status: 'QUARANTINED', runId: RUN });
      } else {
        expect(fileReport).toMatchObject({ status: 'ok', rowsIn: f.rows, rowsQuarantined: 1, rowsValid: f.rows - 1 });
        // The rejected row is in the quarantine CSV: original columns + _line + _reasons naming rule and column.
        const q = (await p.text(quarantined)).trimEnd().split('\n');
        expect(q[0]).toBe([...header, '_line', '_reasons'].join(','));
        expect(q).toHaveLength(2);
        expect(q[1]).toContain(`,${f.line},`);
        expect(q[1]).toContain(f.column ? `${f.rule}[${f.column}]` : f.rule);
        expect(item).toMatchObject({ status: 'SCORED', runId: RUN });
      }
    },
  );

  it('every row is accounted for: rows in = scored + quarantined, in the report, the run and the score store', async () => {
    const rowLevel = BAD_FILES.filter((f) => f.level === 'row');
    const fileLevel = BAD_FILES.filter((f) => f.level === 'file');
    const rowsUsed = 400 + rowLevel.reduce((n, f) => n + f.rows - 1, 0);
    // Rows of a file that fails as a whole are counted and quarantined with it.
    const rowsQuarantined = rowLevel.length + fileLevel.reduce((n, f) => n + f.rows, 0);
    const rowsIn = rowsUsed + rowsQuarantined;
    expect(report).toMatchObject({ rowsIn, rowsQuarantined, rowsValid: rowsUsed });
    expect(runOutput.summary).toMatchObject({
      rowsIn,
      rowsUsed,
      rowsQuarantined,
      rowsLoaded: rowsUsed,
      objects: 1 + rowLevel.length, // scored objects; the file-level failures are counted apart
      objectsQuarantined: fileLevel.length,
    });
    expect(Object.keys(await storedScores(redis))).toHaveLength(rowsUsed);
    for (const rule of new Set(BAD_FILES.map((f) => f.rule))) expect(report.countsByRule[rule]).toBeGreaterThan(0);
  });

  it('a malformed contract in the Production model spec fails the run at PlanPrepare, before the fan-out, naming the spec and the path; ledger untouched', async () => {
    const spec = JSON.parse(await p.text(p.preprocessingUri)) as {
      contract: { features: { name: string; min?: number; max?: number }[] };
    };
    const tenure = spec.contract.features.find((x) => x.name === 'tenure_months')!;
    tenure.min = 700; // > max 600
    const badSpecKey = 'training/train-bad/preprocessing.json';
    await p.s3.send(new PutObjectCommand({ Bucket: p.artifactsBucket, Key: badSpecKey, Body: JSON.stringify(spec) }));
    const good = p.preprocessingUri;
    p.preprocessingUri = `s3://${p.artifactsBucket}/${badSpecKey}`;
    const arn = await p.registerModel('train-bad');
    p.preprocessingUri = good;
    await updateApprovalStatus(p.sm, arn, 'Approved', 'approved in test');
    const key = 'inference/dt=2026-11-21/after-bad-contract.csv';
    await p.arrive(key, snapshot('inference', '2026-11-21', ids('BC', 5)));
    const res = await p.run('batch-bad-contract');
    expect(res.status).toBe('FAILED');
    expect(res.path).toContain(S.PlanPrepare);
    expect(res.path).not.toContain(S.PrepareTasks);
    expect(res.error?.Error).toBe('ValidationError');
    expect(res.error?.Cause).toContain(`s3://${p.artifactsBucket}/${badSpecKey}`);
    expect(res.error?.Cause).toMatch(/tenure_months|features\[0\]/);
    expect(res.error?.Cause).toMatch(/min/);
    expect(await getLedgerItem(p.doc, p.table, key)).toMatchObject({ status: 'PENDING' });
    expect(await getLock(p.doc, p.table)).toBeUndefined();
    await updateApprovalStatus(p.sm, arn, 'Rejected', 'bad spec');
  });

  describe('read API (real handler, real redis-server)', () => {
    const apiGet = (entityId: string) =>
      ({
        httpMethod: 'GET',
        resource: '/scores/{entityId}',
        path: `/scores/${entityId}`,
        pathParameters: { entityId },
        queryStringParameters: null,
        body: null,
        isBase64Encoded: false,
      }) as unknown as APIGatewayProxyEvent;
    const apiPost = (body: string | null) =>
      ({
        httpMethod: 'POST',
        resource: '/scores/batch',
        path: '/scores/batch',
        pathParameters: null,
        queryStringParameters: null,
        body,
        isBase64Encoded: false,
      }) as unknown as APIGatewayProxyEvent;
    const call = async (event: APIGatewayProxyEvent) => {
      const res = (await p.invoke('lambdas/functions/read-scores/handler.ts', event)) as {
        statusCode: number;
        body: string;
      };
      return { status: res.statusCode, body: JSON.parse(res.body) as { message?: string } & Record<string, unknown> };
    };

    it.each([
      ['bad id', apiGet('bad id!'), /entityId "bad id!" is not a valid entity id/],
      ['id too long', apiGet('x'.repeat(65)), /entityId "x{65}" is not a valid entity id/],
      [
        'too many ids',
        apiPost(JSON.stringify({ ids: Array.from({ length: 101 }, (_, i) => `c${i}`) })),
        /body\.ids holds 101 ids; at most 100 are allowed/,
      ],
      ['wrong JSON', apiPost('{"ids": ["GOOD00001",'), /body is not valid JSON/],
      ['wrong field type', apiPost('{"ids": "GOOD00001"}'), /body\.ids must be an array of entity ids, got a string/],
      [
        'bad id in a batch',
        apiPost('{"ids": ["GOOD00001", "no/slash"]}'),
        /body\.ids\[1\] "no\/slash" is not a valid entity id/,
      ],
    ])('%s → 400 naming the field', async (_label, event, message) => {
      const res = await call(event);
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(message);
    });

    it('cache down (redis-server killed) → 503; back up → the same score again', async () => {
      const ok = await call(apiGet('GOOD00001'));
      expect(ok).toMatchObject({ status: 200, body: { entityId: 'GOOD00001', source: 'model' } });
      await redisProc.kill();
      const down = await call(apiGet('GOOD00001'));
      expect(down.status).toBe(503);
      expect(down.body.message).toBe('Score store unavailable; retry later');
      expect((await call(apiPost('{"ids": ["GOOD00001"]}'))).status).toBe(503);
      await redisProc.restart();
      const again = await call(apiGet('GOOD00001'));
      expect(again).toEqual(ok);
    });
  });
});

describe('malformed config value (lib/config.ts through the real CDK app)', () => {
  it.each([
    ['cache.engine', { cache: { engine: 'memcached' } }, /cache\.engine.*"memcached".*one of "redis", "valkey"/],
    ['validation.maxInvalidRowRatio', { validation: { maxInvalidRowRatio: 2 } }, /validation\.maxInvalidRowRatio/],
    ['schedule.cron', { schedule: { cron: 'daily' } }, /schedule\.cron.*"daily"/],
  ])('%s → synth fails naming the environment and the field', (_field, block, message) => {
    let error: Error | undefined;
    try {
      synthesizeApp({ context: { env: 'dev', environments: { dev: block } } });
    } catch (e) {
      error = e as Error;
    }
    expect(error?.name).toBe('ConfigError');
    expect(error?.message).toMatch(/dev/);
    expect(error?.message).toMatch(message);
    expect(error?.message.split('\n').length).toBeLessThan(4);
  });
});

describe('bad CLI arguments (node bin/mlops-batch.js)', () => {
  const ROOT = path.resolve(__dirname, '../..');
  const runCli = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const childEnv = { ...process.env };
      delete childEnv.AWS_ENDPOINT_URL;
      delete childEnv.REDIS_URL;
      const child = spawn(process.execPath, [path.join(ROOT, 'bin/mlops-batch.js'), ...args], {
        cwd: ROOT,
        env: childEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => {
        stdout += b.toString();
      });
      child.stderr.on('data', (b: Buffer) => {
        stderr += b.toString();
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  const CASES: readonly [string[], RegExp][] = [
    [['approve', 'abc'], /version "abc" is not a model version: expected a positive integer/],
    [['reject', '0'], /version "0" is not a model version/],
    [['approve'], /missing required argument 'version'/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['models', '--limit', '0'], /--limit must be a positive integer, got "0"/],
    [['runs', '--kind', 'everything'], /'everything' is invalid.*training, batch/],
    [['train', '--from', '2026-13-01'], /--from must be a calendar date YYYY-MM-DD, got "2026-13-01"/],
    // Calendar dates, not what Date.parse rolls over, on every option that takes a date.
    [['train', '--to', '2026-02-30'], /--to must be a calendar date YYYY-MM-DD, got "2026-02-30"/],
    [['rescore', '--from', '2026-02-29', '--dry-run'], /--from must be a calendar date YYYY-MM-DD, got "2026-02-29"/],
    [['reconcile', '--to', '2026-04-31'], /--to must be a calendar date YYYY-MM-DD, got "2026-04-31"/],
    [['train', '--from', '2026-03-02', '--to', '2026-03-01'], /--from 2026-03-02 is after --to 2026-03-01/],
    // Step Functions' execution-name rules (and the pipeline's run-id shape), before anything runs.
    [['batch', '--run-id', 'nightly run'], /--run-id contains " ", which Step Functions refuses in an execution name/],
    [['train', '--run-id', 'a:b'], /--run-id contains ":", which Step Functions refuses/],
    [['batch', '--run-id', 'x'.repeat(81)], /--run-id must be 1–80 characters .*got 81/],
    [['batch', '--run-id', 'run.1'], /--run-id must be ASCII letters, digits, "-" and "_"/],
    [['--bogus', 'models'], /unknown option '--bogus'/],
    [['--local', 'models'], /--local needs AWS_ENDPOINT_URL/],
  ];

  it('each bad invocation → exit code 2, nothing on stdout, one line on stderr naming the problem', async () => {
    const results = await Promise.all(CASES.map(([args]) => runCli(args)));
    results.forEach((r, i) => {
      const [args, message] = CASES[i]!;
      const where = `mlops-batch ${args.join(' ')}`;
      expect({ where, code: r.code, stdout: r.stdout }).toEqual({ where, code: 2, stdout: '' });
      const errLines = r.stderr.trimEnd().split('\n');
      expect({ where, errLines: errLines.length }).toEqual({ where, errLines: 1 });
      expect(errLines[0]).toMatch(message);
    });
  }, 120_000);
});
