import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { DependencyError, NotFoundError, ValidationError } from '../../../contracts/errors';
import { DEFAULT_MAX_BATCH_IDS } from '../../../contracts/function-env';
import { type ProductionPointer, standingOf } from '../../domain/production';
import {
  ENTITY_ID_PATTERN,
  ENTITY_ID_RULE,
  type FallbackRecord,
  SEGMENT_PATTERN,
  type StoredScore,
} from '../../domain/score-store/format';
import type { Fallbacks, ScoreStore } from '../../domain/score-store/store';

/**
 * Read API core (API Gateway REST proxy integration):
 *
 * - `GET /scores/{entityId}[?segment=<value>]` → 200 {@link ScoreItem}
 * - `POST /scores/batch` body `{ "ids": string[1..maxBatchIds], "segment"?: string }` → 200 `{ items, notFound }`
 *
 * An id without a stored score gets the fallback: the segment record when `segment` is given and loaded, else the
 * global record (`source: "fallback"`, `fallback: "segment" | "global"`); the handler caches fallback records for
 * 10 s per container ({@link FallbackCache}). Before the first run has finished
 * (no fallback loaded yet) a single GET of an unknown id answers 404 and a batch lists such ids in `notFound`
 * — never an invented score. Bad input → 400 naming the field; cache unreachable → 503.
 *
 * Every item says which model version produced it and whether that is the Production version now (`production`,
 * from the Production pointer, lambdas/domain/production.ts). A stored score from a **rejected** version is never
 * served as a model score: the entity gets the fallback instead, with `fallbackReason: "model-version-rejected"`
 * (until the run started by the rollback rescores it with the restored version). A score from an older approved
 * version (during a rescore after a promotion) is served as a model score with `production: false`.
 */

export interface ScoreItem {
  readonly entityId: string;
  readonly score: number;
  readonly source: 'model' | 'fallback';
  readonly modelVersion: string;
  readonly asOf: string;
  /** Whether `modelVersion` is the Production version now. */
  readonly production: boolean;
  /** Which fallback record answered (only when `source` is `fallback`). */
  readonly fallback?: 'segment' | 'global';
  /** Why a fallback answered: no stored score, or the stored one came from a rejected version. */
  readonly fallbackReason?: 'no-score' | 'model-version-rejected';
}

export interface BatchResult {
  /** One item per requested id that has a score or a fallback, in request order. */
  readonly items: ScoreItem[];
  /** Requested ids with neither a score nor any fallback record (only before the first completed run). */
  readonly notFound: string[];
}

export interface ReadOptions {
  /** Most ids a batch request may carry. @default 100 */
  readonly maxBatchIds?: number;
  /** Short-lived cache of the fallback records. @default - no cache: every miss reads them from the store */
  readonly fallbackCache?: FallbackCache;
  /** The Production pointer. @default - none recorded: every version counts as Production */
  readonly production?: ProductionPointer;
}

/**
 * Per-container cache of the fallback records, so an unknown id costs one round trip like a known one. Fallback
 * records change once per batch run (FinalizeScores), so serving them up to `maxAgeMs` old is harmless; only found
 * records are cached (before the first run completes every miss asks the store again), and the number of cached
 * segments is bounded (segment values come from requests).
 */
export class FallbackCache {
  private readonly entries = new Map<string, { at: number; value: Fallbacks }>();

  constructor(
    /** @default 10 000 */
    private readonly maxAgeMs = 10_000,
    /** @default 64 */
    private readonly maxEntries = 64,
    private readonly now: () => number = Date.now,
  ) {}

  async get(store: ScoreStore, segment?: string): Promise<Fallbacks> {
    const key = segment ?? '';
    const t = this.now();
    const hit = this.entries.get(key);
    if (hit !== undefined && t - hit.at < this.maxAgeMs) return hit.value;
    const value = await store.getFallbacks(segment);
    if (value.global !== undefined || value.segment !== undefined) {
      if (this.entries.size >= this.maxEntries) this.entries.clear();
      this.entries.set(key, { at: t, value });
    }
    return value;
  }
}

const fallbacksOf = (store: ScoreStore, segment: string | undefined, cache: FallbackCache | undefined) =>
  cache ? cache.get(store, segment) : store.getFallbacks(segment);

/** Outcome of one request: the HTTP response and what the handler reports as metrics. */
export interface ReadOutcome {
  readonly response: APIGatewayProxyResult;
  /** Items answered (model + fallback). */
  readonly served: number;
  /** Items answered from a fallback record. */
  readonly fallbacks: number;
  /** Items whose model version is not the Production version. */
  readonly notProduction: number;
}

const HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' } as const;

const isProduction = (p: ProductionPointer | undefined, version: string) => standingOf(p, version) === 'production';

/** The stored score as a model item, or undefined when its version was rejected (the caller falls back). */
const fromModel = (entityId: string, s: StoredScore, p: ProductionPointer | undefined): ScoreItem | undefined =>
  standingOf(p, s.modelVersion) === 'rejected'
    ? undefined
    : {
        entityId,
        score: s.score,
        source: 'model',
        modelVersion: s.modelVersion,
        asOf: s.asOf,
        production: isProduction(p, s.modelVersion),
      };

const fromFallback = (
  entityId: string,
  f: FallbackRecord,
  level: 'segment' | 'global',
  reason: 'no-score' | 'model-version-rejected',
  p: ProductionPointer | undefined,
): ScoreItem => ({
  entityId,
  score: f.score,
  source: 'fallback',
  modelVersion: f.modelVersion,
  asOf: f.asOf,
  production: isProduction(p, f.modelVersion),
  fallback: level,
  fallbackReason: reason,
});

function pickFallback(
  entityId: string,
  fb: Fallbacks,
  reason: 'no-score' | 'model-version-rejected',
  p: ProductionPointer | undefined,
): ScoreItem | undefined {
  if (fb.segment) return fromFallback(entityId, fb.segment, 'segment', reason, p);
  if (fb.global) return fromFallback(entityId, fb.global, 'global', reason, p);
  return undefined;
}

export function validateEntityId(id: unknown, field: string): string {
  if (typeof id !== 'string') throw new ValidationError(`${field} must be a string, got ${typeOf(id)}`);
  if (!ENTITY_ID_PATTERN.test(id)) {
    throw new ValidationError(
      `${field} ${JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}…` : id)} is not a valid entity id: expected ${ENTITY_ID_RULE}`,
    );
  }
  return id;
}

export function validateSegment(segment: unknown, field: string): string | undefined {
  if (segment === undefined || segment === null) return undefined;
  if (typeof segment !== 'string') throw new ValidationError(`${field} must be a string, got ${typeOf(segment)}`);
  if (!SEGMENT_PATTERN.test(segment)) {
    throw new ValidationError(
      `${field} ${JSON.stringify(segment.slice(0, 80))} is not a valid segment value: expected 1-64 characters of A-Z a-z 0-9 _ . -`,
    );
  }
  return segment;
}

function typeOf(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/**
 * The score of one entity, or its fallback.
 *
 * @throws ValidationError for a bad id or segment
 * @throws NotFoundError when there is neither a score nor a fallback record
 * @throws DependencyError when the cache fails
 */
export async function readScore(
  store: ScoreStore,
  entityId: string,
  segment?: string,
  cache?: FallbackCache,
  production?: ProductionPointer,
): Promise<ScoreItem> {
  validateEntityId(entityId, 'entityId');
  const seg = validateSegment(segment, 'segment');
  // The score and, where the store keeps them next to it, the fallbacks in one round trip.
  const { score: stored, fallbacks } = await store.lookup(entityId, seg);
  const model = stored === undefined ? undefined : fromModel(entityId, stored, production);
  if (model !== undefined) return model;
  const reason = stored === undefined ? 'no-score' : 'model-version-rejected';
  const near = fallbacks.segment !== undefined || fallbacks.global !== undefined;
  const item = pickFallback(entityId, near ? fallbacks : await fallbacksOf(store, seg, cache), reason, production);
  if (item === undefined) {
    throw new NotFoundError(
      `No score for entity ${entityId} and no fallback score loaded yet (no batch run has completed)`,
    );
  }
  return item;
}

/**
 * Scores of up to `maxBatchIds` entities (one MGET, plus one MGET of the fallbacks when any id is unknown).
 *
 * @throws ValidationError for a bad body; DependencyError when the cache fails
 */
export async function readScores(store: ScoreStore, body: unknown, options: ReadOptions = {}): Promise<BatchResult> {
  const max = options.maxBatchIds ?? DEFAULT_MAX_BATCH_IDS;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError(`body must be a JSON object { "ids": [...], "segment"?: "..." }, got ${typeOf(body)}`);
  }
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (k !== 'ids' && k !== 'segment') throw new ValidationError(`body.${k} is not allowed (expected ids, segment)`);
  }
  const ids = b.ids;
  if (!Array.isArray(ids)) throw new ValidationError(`body.ids must be an array of entity ids, got ${typeOf(ids)}`);
  if (ids.length === 0) throw new ValidationError('body.ids must hold at least 1 id');
  if (ids.length > max) throw new ValidationError(`body.ids holds ${ids.length} ids; at most ${max} are allowed`);
  for (let i = 0; i < ids.length; i++) validateEntityId(ids[i], `body.ids[${i}]`);
  const seg = validateSegment(b.segment, 'body.segment');

  const valid = ids as string[];
  const stored = await store.getScores(valid);
  const items: ScoreItem[] = [];
  const notFound: string[] = [];
  let fb: Fallbacks | undefined;
  for (let i = 0; i < valid.length; i++) {
    const id = valid[i]!;
    const s = stored[i];
    const model = s === undefined ? undefined : fromModel(id, s, options.production);
    if (model !== undefined) {
      items.push(model);
      continue;
    }
    fb ??= await fallbacksOf(store, seg, options.fallbackCache);
    const item = pickFallback(id, fb, s === undefined ? 'no-score' : 'model-version-rejected', options.production);
    if (item === undefined) notFound.push(id);
    else items.push(item);
  }
  return { items, notFound };
}

const json = (statusCode: number, body: unknown): APIGatewayProxyResult => ({
  statusCode,
  headers: HEADERS,
  body: JSON.stringify(body),
});

function errorResponse(err: unknown): APIGatewayProxyResult {
  if (err instanceof ValidationError) return json(400, { message: err.message });
  if (err instanceof NotFoundError) return json(404, { message: err.message });
  if (err instanceof DependencyError) {
    return {
      statusCode: 503,
      headers: { ...HEADERS, 'Retry-After': '1' },
      body: JSON.stringify({ message: 'Score store unavailable; retry later' }),
    };
  }
  throw err;
}

function parseBody(event: APIGatewayProxyEvent): unknown {
  if (event.body === null || event.body === undefined || event.body === '') {
    throw new ValidationError('body is missing: expected a JSON object { "ids": [...], "segment"?: "..." }');
  }
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Route a REST proxy event: by `resource` when API Gateway sets it, else by `path`. */
function route(event: APIGatewayProxyEvent): { kind: 'one'; entityId: string } | { kind: 'batch' } | undefined {
  const resource = event.resource;
  if (resource === '/scores/batch') return { kind: 'batch' };
  if (resource === '/scores/{entityId}') {
    const entityId = event.pathParameters?.entityId;
    return { kind: 'one', entityId: entityId ?? '' };
  }
  const path = event.path ?? '';
  if (path === '/scores/batch') return { kind: 'batch' };
  if (path.startsWith('/scores/') && path.indexOf('/', 8) < 0) {
    let id = path.slice(8);
    try {
      id = decodeURIComponent(id);
    } catch {
      // keep it raw: validation names it
    }
    return { kind: 'one', entityId: id };
  }
  return undefined;
}

/**
 * Handle one API request. Unexpected errors propagate (the handler answers 500 and logs them).
 */
export async function handleRequest(
  store: ScoreStore,
  event: APIGatewayProxyEvent,
  options: ReadOptions = {},
): Promise<ReadOutcome> {
  const r = route(event);
  if (r === undefined)
    return {
      response: json(404, { message: `No route ${event.httpMethod} ${event.path}` }),
      served: 0,
      fallbacks: 0,
      notProduction: 0,
    };
  try {
    if (r.kind === 'one') {
      if (event.httpMethod !== 'GET') {
        return {
          response: json(405, { message: `Method ${event.httpMethod} not allowed; use GET` }),
          served: 0,
          fallbacks: 0,
          notProduction: 0,
        };
      }
      const item = await readScore(
        store,
        r.entityId,
        event.queryStringParameters?.segment,
        options.fallbackCache,
        options.production,
      );
      return {
        response: json(200, item),
        served: 1,
        fallbacks: item.source === 'fallback' ? 1 : 0,
        notProduction: item.production ? 0 : 1,
      };
    }
    if (event.httpMethod !== 'POST') {
      return {
        response: json(405, { message: `Method ${event.httpMethod} not allowed; use POST` }),
        served: 0,
        fallbacks: 0,
        notProduction: 0,
      };
    }
    const result = await readScores(store, parseBody(event), options);
    let fallbacks = 0;
    let notProduction = 0;
    for (const it of result.items) {
      if (it.source === 'fallback') fallbacks++;
      if (!it.production) notProduction++;
    }
    return { response: json(200, result), served: result.items.length, fallbacks, notProduction };
  } catch (err) {
    return { response: errorResponse(err), served: 0, fallbacks: 0, notProduction: 0 };
  }
}
