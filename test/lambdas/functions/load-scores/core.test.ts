import { Readable } from 'node:stream';
import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import type Redis from 'ioredis';
import { DependencyError, IntegrityError, NotFoundError, ValidationError } from '../../../../contracts/errors';
import { RedisScoreStore } from '../../../../lambdas/domain/score-store/redis';
import { loadScores, loadScoresFromStream, MAX_LINE_LENGTH } from '../../../../lambdas/functions/load-scores/core';
import { handler } from '../../../../lambdas/functions/load-scores/handler';

/** A stand-in for the cache that records what the upsert script would write (the script itself is tested live). */
function fakeRedis(opts: { failAfterCalls?: number; keptNewer?: (key: string) => boolean } = {}) {
  const written = new Map<string, string>();
  let calls = 0;
  const redis = {
    call: async (cmd: string, args: (string | number)[]) => {
      if (cmd !== 'EVALSHA') throw new Error(`unexpected ${cmd}`);
      calls++;
      if (opts.failAfterCalls !== undefined && calls > opts.failAfterCalls) throw new Error('connect ECONNREFUSED');
      const n = Number(args[1]);
      const keys = args.slice(2, 2 + n) as string[];
      const payloads = args.slice(2 + n + 4) as string[];
      let applied = 0;
      keys.forEach((k, i) => {
        if (opts.keptNewer?.(k)) return;
        written.set(k, payloads[i]!);
        applied++;
      });
      return [applied, n - applied];
    },
  } as unknown as Redis;
  return { redis, written, calls: () => calls };
}

/** The one-key-per-entity layout, whose script arguments the fake above reads (the bucket layout is tested live). */
const keysStore = (redis: Redis) => new RedisScoreStore(redis, { layout: { kind: 'keys' } });

const stamp = { asOf: '2026-11-20', runId: 'batch-20261121T020000Z-ab', modelVersion: '3' };
const base = { stamp, ttlSeconds: 3600, source: 's3://artifacts/results/part-00001.csv.out' };

/** Feed text in chunks of `size` bytes so lines straddle chunk boundaries. */
const chunks = (text: string, size: number) => {
  const buf = Buffer.from(text);
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts);
};

describe('loadScoresFromStream', () => {
  const text = 'c1,basic,0.25\nc2,premium,0.5\nc3,basic,0.75\nc4,,1\nc5,basic,1.5e-1\r\n';

  it.each([1, 3, 7, 1024])('parses rows across %i-byte chunks and sums per segment', async (size) => {
    const { redis, written } = fakeRedis();
    const r = await loadScoresFromStream(keysStore(redis), chunks(text, size), {
      ...base,
      expectedRows: 5,
      batchSize: 2,
    });
    expect(r).toEqual({
      rowsRead: 5,
      rowsApplied: 5,
      rowsKeptNewer: 0,
      segments: { basic: { count: 3, sum: 0.25 + 0.75 + 0.15 }, premium: { count: 1, sum: 0.5 } },
      sum: 0.25 + 0.5 + 0.75 + 1 + 0.15,
      count: 5,
    });
    // score text is stored unchanged; the key carries the prefix
    expect([...written]).toEqual([
      ['score:c1', '0.25'],
      ['score:c2', '0.5'],
      ['score:c3', '0.75'],
      ['score:c4', '1'],
      ['score:c5', '1.5e-1'],
    ]);
  });

  it('accepts a last line without a newline and reports kept-newer rows', async () => {
    const { redis } = fakeRedis({ keptNewer: (k) => k === 'score:c2' });
    const r = await loadScoresFromStream(keysStore(redis), Readable.from(['c1,basic,0.1\nc2,basic,0.2']), {
      ...base,
      expectedRows: 2,
    });
    expect(r.rowsApplied).toBe(1);
    expect(r.rowsKeptNewer).toBe(1);
  });

  it.each([
    ['c1,basic,0.1\n\nc2,basic,0.2\n', 2, /line 2: empty line \(a missing row\)/],
    ['c1,basic,0.1\nc2,basic\n', 2, /line 2: expected 3 fields/],
    ['c1,basic,0.1\nc2,basic,0.2,9\n', 2, /line 2: expected 3 fields/],
    ['c1,basic,0.1\n"c2",basic,0.2\n', 2, /line 2: entity id must match/],
    ['c 1,basic,0.1\n', 1, /line 1: entity id must match/],
    ['c1,ba sic,0.1\n', 1, /line 1: segment must be empty or match/],
    ['c1,basic,1.5\n', 1, /line 1: score must be a number in 0\.\.1/],
    ['c1,basic,-0.1\n', 1, /line 1: score must be a number in 0\.\.1/],
    ['c1,basic,\n', 1, /line 1: score must be a number/],
    ['c1,basic,NaN\n', 1, /line 1: score must be a number/],
    ['c1,basic,Infinity\n', 1, /line 1: score must be a number/],
    ['c1,basic,0x1\n', 1, /line 1: score must be a number/],
    ['c1,basic, 0.5\n', 1, /line 1: score must be a number/],
    ['c1,bäsic,0.5\n', 1, /line 1: segment must be empty or match/],
  ])('a corrupt line fails naming file and line: %p', async (input, _line, message) => {
    const { redis } = fakeRedis();
    const p = loadScoresFromStream(keysStore(redis), Readable.from([Buffer.from(input)]), base);
    await expect(p).rejects.toThrow(IntegrityError);
    await expect(loadScoresFromStream(keysStore(redis), Readable.from([Buffer.from(input)]), base)).rejects.toThrow(
      new RegExp(`^s3://artifacts/results/part-00001\\.csv\\.out ${message.source}`),
    );
  });

  it('fails on a line longer than the limit, even without a newline', async () => {
    const { redis } = fakeRedis();
    const long = `c1,basic,0.${'1'.repeat(MAX_LINE_LENGTH)}`;
    await expect(loadScoresFromStream(keysStore(redis), chunks(long, 64), base)).rejects.toThrow(
      /line 1: line longer than 512/,
    );
  });

  it('fewer rows than sent fails after the stream; more rows fails at once', async () => {
    const { redis } = fakeRedis();
    await expect(
      loadScoresFromStream(keysStore(redis), Readable.from(['c1,basic,0.1\nc2,basic,0.2\n']), {
        ...base,
        expectedRows: 3,
      }),
    ).rejects.toThrow(/2 rows in the transform output but 3 rows were sent to it/);
    const many = Array.from({ length: 50 }, (_, i) => `c${i},basic,0.5\n`).join('');
    const fr = fakeRedis();
    await expect(
      loadScoresFromStream(keysStore(fr.redis), Readable.from([many]), {
        ...base,
        expectedRows: 10,
        batchSize: 5,
      }),
    ).rejects.toThrow(/more rows than the 10 sent to the transform \(line 11\)/);
    expect(fr.written.size).toBeLessThanOrEqual(10);
  });

  it('a cache failure mid-load is a DependencyError and stops reading', async () => {
    const { redis, calls } = fakeRedis({ failAfterCalls: 2 });
    const rows = Array.from({ length: 1000 }, (_, i) => `c${i},basic,0.5\n`);
    const p = loadScoresFromStream(keysStore(redis), Readable.from(rows), {
      ...base,
      expectedRows: 1000,
      batchSize: 10,
      maxInFlight: 2,
    });
    await expect(p).rejects.toThrow(DependencyError);
    await expect(p).rejects.toThrow(/Cache unavailable/);
    expect(calls()).toBeLessThan(10);
  });

  it('a stream error is a DependencyError naming the file', async () => {
    const { redis } = fakeRedis();
    const broken = new Readable({
      read() {
        this.destroy(new Error('socket hang up'));
      },
    });
    await expect(loadScoresFromStream(keysStore(redis), broken, base)).rejects.toThrow(
      /s3:\/\/artifacts\/results\/part-00001\.csv\.out: reading the file failed: socket hang up/,
    );
  });
});

describe('loadScores (S3)', () => {
  const s3mock = mockClient(S3Client);
  beforeEach(() => s3mock.reset());
  const input = {
    bucket: 'artifacts',
    resultKey: 'results/model_version=3/run=r1/part-00001.csv.out',
    part: 'part-00001.csv',
    asOf: '2026-11-20',
    expectedRows: 2,
    runId: 'r1',
    modelVersion: '3',
  };

  it('streams the object and echoes resultKey, part and asOf', async () => {
    s3mock
      .on(GetObjectCommand, { Bucket: 'artifacts', Key: input.resultKey })
      .resolves({ Body: Readable.from([Buffer.from('a,basic,0.1\nb,standard,0.3\n')]) as never });
    const { redis, written } = fakeRedis();
    const out = await loadScores({ s3: new S3Client({}), store: keysStore(redis) }, input, {
      ttlSeconds: 60,
    });
    expect(out).toMatchObject({ resultKey: input.resultKey, part: 'part-00001.csv', asOf: '2026-11-20', rowsRead: 2 });
    expect(written.get('score:b')).toBe('0.3');
  });

  it('a missing result file is a NotFoundError naming it', async () => {
    s3mock.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }));
    await expect(
      loadScores({ s3: new S3Client({}), store: keysStore(fakeRedis().redis) }, input, { ttlSeconds: 60 }),
    ).rejects.toThrow(
      new NotFoundError(`Transform result s3://artifacts/${input.resultKey} (part part-00001.csv) does not exist`),
    );
  });

  it('any other S3 error is a DependencyError', async () => {
    s3mock.on(GetObjectCommand).rejects(new Error('SlowDown'));
    await expect(
      loadScores({ s3: new S3Client({}), store: keysStore(fakeRedis().redis) }, input, { ttlSeconds: 60 }),
    ).rejects.toThrow(DependencyError);
  });
});

describe('LoadScores handler input', () => {
  it.each([
    [{}, /LoadScores: invalid input: bucket/],
    [{ bucket: 'b', resultKey: 'k', part: 'p', asOf: '2026-11-20', expectedRows: 1, runId: 'r' }, /bucket/],
    [
      { bucket: 'bkt', resultKey: 'k', part: 'p', asOf: '20261120', expectedRows: 1, runId: 'r', modelVersion: 3 },
      /asOf: a YYYY-MM-DD date/,
    ],
    [
      { bucket: 'bkt', resultKey: 'k', part: 'p', asOf: '2026-11-20', expectedRows: -1, runId: 'r', modelVersion: 3 },
      /expectedRows/,
    ],
    [
      { bucket: 'bkt', resultKey: 'k', part: 'p', asOf: '2026-11-20', expectedRows: 1, runId: 'a|b', modelVersion: 3 },
      /runId/,
    ],
  ])('rejects %p with a ValidationError naming the field', async (event, message) => {
    const p = handler(event);
    await expect(p).rejects.toThrow(ValidationError);
    await expect(handler(event)).rejects.toThrow(message);
  });
});
