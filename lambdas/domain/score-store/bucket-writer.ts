import { type RedisClient, toDependencyError } from '../../platform/redis';
import { canSendEncoded, sendEncoded } from '../../platform/redis-encoded';
import { BUCKET_UPSERT_SCRIPT, BUCKET_UPSERT_SHA, STAMP_REGISTER_SCRIPT, STAMP_REGISTER_SHA } from './bucket-scripts';
import { counts, isNoScript, runScript } from './buckets';
import { assertStamp } from './format';
import { type BucketLayout, bucketKey, groupTags, metaKey } from './layout';
import { encodeRowPairs, MAX_BUFFER_ROWS, MAX_SLOTS, RespEncoder, RowBuffer, recordStrings } from './row-buffer';
import type { ScoreBatchWriter, ScoreWriterOptions, UpsertCounts } from './store';

/** Upper bound on rows per script call: a call blocks its shard while it runs. */
export const MAX_ROWS_PER_CALL = 5_000;
/** Rows of one bucket in one call at most: Lua's `unpack` returns at most ~8 000 values. */
const MAX_BUCKET_ROWS = 1_000;
/** Room left in front of an encoded call for its `*<n> $7 EVALSHA $40 <sha>` head. */
const HEAD_ROOM = 80;
const WHAT = 'run the score upsert script';

/** Seconds the stamp expiry is rounded down to: an hour for day-long TTLs, finer for short ones (tests). */
const expiryStep = (ttl: number) => Math.min(3600, Math.max(1, Math.floor(ttl / 24)));

function positiveInt(name: string, value: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${name} must be an integer 1..${max}, got ${value}`);
  }
  return value;
}

/** One script call's share of a sorted buffer: per bucket [bucket, from, to, prune 0/1] (positions in the order). */
type CallPlan = number[];

/**
 * Streams score records into the buckets. Rows are buffered as bytes (row-buffer.ts, up to `bufferRows`) and sorted by
 * bucket, so one script call writes many rows of each bucket it touches; the buffer is sent as calls of ≤ `batchSize`
 * rows, `maxInFlight` in flight, while the next buffer fills. On an ioredis client each call's RESP is encoded from
 * the bytes directly (no string per argument); on any other client (the local runtime's in-process stand-in) the
 * same arguments go through `call`. Memory: `buffers` buffers of `bufferRows` rows at most (a second is allocated only
 * when the first fills before the last row, so rows that fit one buffer cost one).
 */
export class BucketScoreWriter implements ScoreBatchWriter {
  private readonly head: string[];
  private readonly record: string;
  private readonly batchSize: number;
  private readonly maxInFlight: number;
  private readonly bufferRows: number;
  private readonly bufferBytes: number | undefined;
  private readonly overlap: boolean;
  private readonly pruneEvery: number;
  private readonly groups: number;
  private readonly perGroup: number;
  private readonly tags: readonly string[];
  private readonly encoded: boolean;
  private rows: RowBuffer | undefined;
  private spare: RowBuffer | undefined;
  private flushing: Promise<void> | undefined;
  private readonly stampIds: (Promise<string> | undefined)[];
  private readonly inFlight: Promise<UpsertCounts>[] = [];
  private readonly spareBuffers: Buffer[] = [];
  private failure: unknown;
  readonly counts: UpsertCounts = { applied: 0, keptNewer: 0 };

  constructor(
    private readonly redis: RedisClient,
    layout: BucketLayout,
    options: ScoreWriterOptions,
    private readonly now: () => number = Date.now,
  ) {
    assertStamp(options.stamp);
    const ttl = options.ttlSeconds;
    if (!Number.isInteger(ttl) || ttl <= 0) throw new RangeError(`ttlSeconds must be a positive integer, got ${ttl}`);
    this.batchSize = positiveInt('batchSize', options.batchSize ?? 2_000, MAX_ROWS_PER_CALL);
    this.maxInFlight = positiveInt('maxInFlight', options.maxInFlight ?? 8);
    this.bufferRows = positiveInt('bufferRows', options.bufferRows ?? 200_000, MAX_BUFFER_ROWS);
    this.bufferBytes = options.bufferBytes === undefined ? undefined : positiveInt('bufferBytes', options.bufferBytes);
    this.overlap = positiveInt('buffers', options.buffers ?? 2, 2) === 2;
    this.pruneEvery = positiveInt('pruneEvery', options.pruneEvery ?? 16);
    this.groups = layout.groups;
    this.perGroup = layout.bucketsPerGroup;
    if (this.groups * this.perGroup > MAX_SLOTS) {
      throw new RangeError(`a bucket layout of at most ${MAX_SLOTS} buckets, got ${this.groups * this.perGroup}`);
    }
    const step = expiryStep(ttl);
    const expiresAt = Math.floor((Math.floor(now() / 1000) + ttl) / step) * step;
    const { asOf, runId, modelVersion } = options.stamp;
    this.record = `${asOf}|${runId}|${modelVersion}|${expiresAt}`;
    this.head = [String(ttl), '', asOf, runId, modelVersion, String(expiresAt), ''];
    this.tags = groupTags(layout.groups);
    this.encoded = canSendEncoded(redis);
    this.stampIds = new Array(layout.groups).fill(undefined);
  }

  add(entityId: string, scoreText: string): Promise<void> | undefined {
    const bytes = Buffer.from(`${entityId}${scoreText}`, 'utf8');
    const n = Buffer.byteLength(entityId);
    return this.addBytes(bytes, 0, n, n, bytes.length);
  }

  addBytes(bytes: Buffer, idStart: number, idEnd: number, scoreStart: number, scoreEnd: number) {
    if (idEnd - idStart > 255 || scoreEnd - scoreStart > 65_535) {
      throw new RangeError('an entity id of ≤ 255 bytes and a score text of ≤ 65 535 bytes');
    }
    // hashId (contracts/score-layout.ts) over the bytes: the same FNV-1a for ASCII ids.
    let h = 0x811c9dc5;
    for (let i = idStart; i < idEnd; i++) {
      h ^= bytes[i]!;
      h = Math.imul(h, 0x01000193);
    }
    h >>>= 0;
    const g = h % this.groups;
    const slot = g * this.perGroup + (Math.floor(h / this.groups) % this.perGroup);
    if (this.rows === undefined) {
      this.rows = this.spare ?? new RowBuffer(this.bufferRows, this.bufferBytes);
      this.spare = undefined;
    }
    if (this.rows.push(bytes, idStart, idEnd, scoreStart, scoreEnd, slot)) return this.flush();
    return undefined;
  }

  async finish(): Promise<UpsertCounts> {
    if (this.failure === undefined && this.rows !== undefined && this.rows.count > 0) void this.flush();
    try {
      if (this.flushing !== undefined) await this.flushing;
      while (this.inFlight.length > 0) await this.settleOldest();
    } catch (err) {
      this.failure ??= err;
    }
    if (this.failure !== undefined) throw this.failure;
    return { ...this.counts };
  }

  async abandon(): Promise<void> {
    if (this.flushing !== undefined) await Promise.allSettled([this.flushing]);
    await Promise.allSettled(this.inFlight.splice(0));
  }

  /**
   * Start sending the buffer after the previous one; resolves (for the caller to wait) when the previous is sent, or
   * with one buffer when this one is.
   */
  private flush(): Promise<void> | undefined {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const previous = this.flushing;
    const rows = this.rows!;
    // The next buffer is taken (the spare, or a new one) on the next row: none when this was the last.
    this.rows = undefined;
    const run = (async () => {
      if (previous !== undefined) await previous;
      await this.sendBuffer(rows);
      rows.clear();
      this.spare = rows;
    })();
    run.catch((err: unknown) => {
      this.failure ??= err;
    });
    this.flushing = run;
    return this.overlap ? previous : run;
  }

  /** The stamp id of this writer's stamp in a group (registered on first use). */
  private stampId(group: number): Promise<string> {
    const what = 'register the run stamp';
    this.stampIds[group] ??= runScript(
      this.redis,
      { text: STAMP_REGISTER_SCRIPT, sha: STAMP_REGISTER_SHA },
      [metaKey(this.tags[group]!)],
      [String(Math.floor(this.now() / 1000)), this.record],
      what,
    ).then((r) => {
      if (typeof r !== 'string')
        throw toDependencyError(new Error(`unexpected script reply ${JSON.stringify(r)}`), what);
      return r;
    });
    return this.stampIds[group]!;
  }

  private async sendBuffer(rows: RowBuffer): Promise<void> {
    const { slots, offsets } = rows.sorted();
    const n = slots.length;
    const perGroup = this.perGroup;
    // Groups in the buffer, in order, and where each starts in the sorted keys.
    const used: number[] = [];
    const starts: number[] = [];
    for (let i = 0; i < n; i++) {
      const g = Math.floor(slots[i]! / perGroup);
      if (used.length === 0 || used[used.length - 1] !== g) {
        used.push(g);
        starts.push(i);
      }
    }
    starts.push(n);
    await Promise.all(used.map((g) => this.stampId(g)));
    for (let u = 0; u < used.length; u++) {
      const group = used[u]!;
      // A rotating share of the buckets drops its expired records on this stamp's first write.
      const turn = Number.parseInt(await this.stampId(group), 36) % this.pruneEvery;
      let plan: CallPlan = [];
      let planned = 0;
      const end = starts[u + 1]!;
      for (let p = starts[u]!; p < end; ) {
        const slot = slots[p]!;
        let q = p + 1;
        while (q < end && slots[q] === slot) q++;
        const bucket = slot - group * perGroup;
        for (let off = p; off < q; off += MAX_BUCKET_ROWS) {
          const to = Math.min(q, off + MAX_BUCKET_ROWS);
          if (planned > 0 && planned + (to - off) > this.batchSize) {
            await this.send(group, plan, planned, rows.bytes, offsets);
            plan = [];
            planned = 0;
          }
          plan.push(bucket, off, to, off === p && bucket % this.pruneEvery === turn ? 1 : 0);
          planned += to - off;
        }
        p = q;
      }
      if (planned > 0) await this.send(group, plan, planned, rows.bytes, offsets);
    }
  }

  private async send(group: number, plan: CallPlan, planned: number, arena: Buffer, offsets: Uint32Array) {
    if (this.failure !== undefined) throw this.failure;
    const head = this.head.slice();
    head[1] = String(Math.floor(this.now() / 1000));
    head[6] = await this.stampId(group);
    const tag = this.tags[group]!;
    const p = (
      this.encoded
        ? this.sendEncodedCall(tag, head, plan, planned, arena, offsets)
        : this.sendArgs(tag, head, plan, arena, offsets)
    ).then((r) => {
      // The stamp was registered again (its record vanished from the meta hash): later calls use the new id.
      if (Array.isArray(r) && typeof r[2] === 'string' && r[2] !== head[6])
        this.stampIds[group] = Promise.resolve(r[2]);
      return counts(r, WHAT);
    });
    p.catch((err: unknown) => {
      this.failure ??= err;
    });
    this.inFlight.push(p);
    if (this.inFlight.length >= this.maxInFlight) await this.settleOldest();
  }

  /** The call's RESP written from the buffer's bytes: EVALSHA, on NOSCRIPT once more as EVAL with the text. */
  private async sendEncodedCall(
    tag: string,
    head: string[],
    plan: CallPlan,
    planned: number,
    arena: Buffer,
    offsets: Uint32Array,
  ): Promise<unknown> {
    const buckets = plan.length / 4;
    const elements = 3 + (1 + buckets) + head.length + buckets + 2 * planned;
    const enc = new RespEncoder(HEAD_ROOM + 512 + buckets * 48 + planned * 56, HEAD_ROOM, this.spareBuffers.pop());
    const meta = metaKey(tag);
    enc.bulkInt(1 + buckets);
    enc.bulkText(meta);
    for (let b = 0; b < plan.length; b += 4) enc.bulkText(bucketKey(tag, plan[b]!));
    for (const a of head) enc.bulkText(a);
    const prefix = Buffer.from(`${head[6]}|`, 'utf8');
    for (let b = 0; b < plan.length; b += 4) {
      const from = plan[b + 1]!;
      const to = plan[b + 2]!;
      enc.bulkInt(plan[b + 3] === 1 ? from - to : to - from);
      encodeRowPairs(enc, arena, offsets, from, to, prefix);
    }
    const sha = RespEncoder.head(elements, ['EVALSHA', BUCKET_UPSERT_SHA]);
    sha.copy(enc.buf, HEAD_ROOM - sha.length);
    try {
      const reply = await sendEncoded(this.redis, 'evalsha', meta, enc.buf.subarray(HEAD_ROOM - sha.length, enc.pos));
      // Answered, so written and never resent: the next call may reuse the bytes (less garbage per call).
      if (this.spareBuffers.length < this.maxInFlight) this.spareBuffers.push(enc.buf);
      return reply;
    } catch (err) {
      if (!isNoScript(err)) throw toDependencyError(err, WHAT);
    }
    // EVAL carries the script text and caches it on the node that runs it (the same node as the EVALSHA).
    const evalHead = RespEncoder.head(elements, ['EVAL', BUCKET_UPSERT_SCRIPT]);
    try {
      return await sendEncoded(
        this.redis,
        'eval',
        meta,
        Buffer.concat([evalHead, enc.buf.subarray(HEAD_ROOM, enc.pos)]),
      );
    } catch (err) {
      throw toDependencyError(err, WHAT);
    }
  }

  /** The same call as string arguments through `call` (clients that are not ioredis'). */
  private sendArgs(tag: string, head: string[], plan: CallPlan, arena: Buffer, offsets: Uint32Array) {
    const callKeys = [metaKey(tag)];
    const args = head.slice();
    const prefix = `${head[6]}|`;
    for (let b = 0; b < plan.length; b += 4) callKeys.push(bucketKey(tag, plan[b]!));
    for (let b = 0; b < plan.length; b += 4) {
      const from = plan[b + 1]!;
      const to = plan[b + 2]!;
      args.push(String(plan[b + 3] === 1 ? from - to : to - from));
      for (let j = from; j < to; j++) {
        const [id, score] = recordStrings(arena, offsets[j]!);
        args.push(id, prefix + score);
      }
    }
    return runScript(this.redis, { text: BUCKET_UPSERT_SCRIPT, sha: BUCKET_UPSERT_SHA }, callKeys, args, WHAT);
  }

  private async settleOldest(): Promise<void> {
    const p = this.inFlight.shift();
    if (p === undefined) return;
    try {
      const c = await p;
      this.counts.applied += c.applied;
      this.counts.keptNewer += c.keptNewer;
    } catch (err) {
      this.failure ??= err;
      await Promise.allSettled(this.inFlight.splice(0));
      throw err;
    }
  }
}
