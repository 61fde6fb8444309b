/**
 * Deterministic synthetic churn data matching `config/feature-contract.json`.
 *
 * - Seeded PRNG (sfc32): the same options give byte-identical files.
 * - Churn depends on the features through a logistic model plus noise that no feature explains, so a good model reaches
 *   an AUC around 0.8 (not 1.0, not 0.5). {@link SampleDataSet.trueAuc} is the AUC of the generating probability
 *   on the training rows: the ceiling a model can reach.
 * - A few deliberately bad rows (unknown category, out of range, wrong type, missing required value, bad boolean) are
 *   added to the training snapshot and the first inference day; the validator must quarantine them.
 * - Phases: `initial` (two labelled training snapshots, three inference days), `later` (a newer inference day) and
 *   `late` (an older inference day that arrives last: it must be scored without overwriting newer scores; it also has
 *   a few customers seen nowhere else, who get their score from it).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { auc } from '../standins/metrics';

export interface SampleDataOptions {
  /** Customers per snapshot. @default 20000 */
  readonly customers?: number;
  /** PRNG seed. @default 42 */
  readonly seed?: number;
  /** Files per inference day (exercises one transform part per file). @default 2 */
  readonly partsPerDay?: number;
}

export type SamplePhase = 'initial' | 'later' | 'late';

export interface SampleFile {
  /** Key in the features bucket, e.g. `inference/dt=2026-11-02/part-0.csv` (the features bucket; prefixes in contracts/s3-layout.ts). */
  readonly key: string;
  readonly kind: 'training' | 'inference';
  readonly phase: SamplePhase;
  readonly asOf: string;
  /** Data rows (header excluded), bad rows included. */
  readonly rows: number;
  /** Deliberately invalid rows in this file (they must end in quarantine). */
  readonly badRows: number;
  readonly body: string;
}

export interface BadRowSpec {
  readonly id: string;
  readonly rule: string;
}

export interface SampleDataSet {
  readonly files: readonly SampleFile[];
  readonly trainingDates: readonly string[];
  readonly inferenceDates: readonly string[];
  readonly laterDate: string;
  readonly lateDate: string;
  /** Ids present in every regular snapshot (`C0000001`…). */
  readonly customerIds: readonly string[];
  /** Ids that appear only in the late, older day. */
  readonly lateOnlyIds: readonly string[];
  /** The bad rows and the rule each one breaks. */
  readonly badRows: readonly BadRowSpec[];
  /** AUC of the generating churn probability over the valid training rows. */
  readonly trueAuc: number;
  /** Share of churners among the valid training rows. */
  readonly churnRate: number;
}

export const TRAINING_DATES = ['2026-10-30', '2026-10-31'] as const;
export const INFERENCE_DATES = ['2026-11-02', '2026-11-03', '2026-11-04'] as const;
export const LATER_DATE = '2026-11-05';
export const LATE_OLDER_DATE = '2026-11-01';

const HEADER_INFERENCE = [
  'customer_id',
  'as_of',
  'tenure_months',
  'monthly_charges',
  'total_charges',
  'support_tickets_90d',
  'logins_30d',
  'has_autopay',
  'plan',
  'region',
];
const HEADER_TRAINING = ['customer_id', 'as_of', 'churned', ...HEADER_INFERENCE.slice(2)];

// -- PRNG ----------------------------------------------------------------------------------------------------------

/** sfc32, seeded through a string hash so (seed, stream name) pairs give independent streams. */
export function prng(seed: number, stream = ''): () => number {
  const h = createHash('sha256').update(`${seed}:${stream}`).digest();
  let a = h.readUInt32LE(0);
  let b = h.readUInt32LE(4);
  let c = h.readUInt32LE(8);
  let d = h.readUInt32LE(12);
  return () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

function normal(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

function poisson(rand: () => number, lambda: number): number {
  if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal(rand)));
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= rand();
  } while (p > l);
  return k - 1;
}

// -- customers ------------------------------------------------------------------------------------------------------

const PLANS = ['basic', 'standard', 'premium'] as const;
const REGIONS = ['north', 'south', 'east', 'west'] as const;
const PLAN_PRICE: Record<(typeof PLANS)[number], number> = { basic: 30, standard: 60, premium: 95 };
const PLAN_EFFECT: Record<(typeof PLANS)[number], number> = { basic: 0.35, standard: 0, premium: -0.45 };
const REGION_EFFECT: Record<(typeof REGIONS)[number], number> = { north: 0, south: 0.25, east: -0.1, west: 0.05 };

interface Customer {
  readonly id: string;
  readonly tenure: number;
  readonly plan: (typeof PLANS)[number];
  readonly region: (typeof REGIONS)[number] | null;
  readonly autopay: boolean;
  readonly price: number;
  /** Latent engagement: drives tickets and logins, and churn only through them. */
  readonly engagement: number;
}

interface Snapshot {
  readonly c: Customer;
  readonly tenure: number;
  readonly monthly: number;
  readonly total: number | null;
  readonly tickets: number;
  readonly logins: number;
}

function makeCustomer(id: string, rand: () => number): Customer {
  const planRoll = rand();
  const plan = planRoll < 0.5 ? 'basic' : planRoll < 0.85 ? 'standard' : 'premium';
  const regionRoll = rand();
  return {
    id,
    tenure: Math.min(600, Math.floor(-Math.log(Math.max(rand(), 1e-9)) * 28)),
    plan,
    region: regionRoll < 0.03 ? null : REGIONS[Math.floor(rand() * 4)]!,
    autopay: rand() < 0.6,
    price: Math.max(5, PLAN_PRICE[plan] + normal(rand) * 8),
    engagement: normal(rand),
  };
}

function snapshot(c: Customer, dayOffset: number, rand: () => number): Snapshot {
  const tenure = Math.min(600, c.tenure + Math.floor(dayOffset / 30));
  const monthly = Math.round(c.price * (1 + normal(rand) * 0.01) * 100) / 100;
  const total = tenure === 0 || rand() < 0.02 ? null : Math.round(monthly * tenure * (0.95 + rand() * 0.1) * 100) / 100;
  return {
    c,
    tenure,
    monthly,
    total,
    tickets: Math.min(1000, poisson(rand, Math.exp(0.1 - 0.7 * c.engagement))),
    logins: Math.min(10000, poisson(rand, Math.exp(2.6 + 0.45 * c.engagement))),
  };
}

/** The generating churn probability (what a perfect model would predict, before the unexplained noise). */
function churnLogit(s: Snapshot): number {
  return (
    -0.9 -
    0.045 * Math.min(s.tenure, 60) +
    0.38 * Math.min(s.tickets, 8) -
    0.025 * Math.min(s.logins, 60) +
    (s.c.autopay ? 0 : 0.85) +
    0.012 * (s.monthly - 60) +
    PLAN_EFFECT[s.c.plan] +
    (s.c.region ? REGION_EFFECT[s.c.region] : 0.1)
  );
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

function fmtRow(s: Snapshot, asOf: string, label?: number): string {
  const cols = [
    s.c.id,
    asOf,
    ...(label === undefined ? [] : [String(label)]),
    String(s.tenure),
    s.monthly.toFixed(2),
    s.total === null ? '' : s.total.toFixed(2),
    String(s.tickets),
    String(s.logins),
    s.c.autopay ? 'true' : 'false',
    s.c.plan,
    s.c.region ?? '',
  ];
  return cols.join(',');
}

/** Bad rows: each breaks exactly one rule of the contract. */
function badRows(asOf: string, training: boolean, prefix: string): { lines: string[]; specs: BadRowSpec[] } {
  const good = (id: string) => ({
    customer_id: id,
    as_of: asOf,
    churned: '1',
    tenure_months: '12',
    monthly_charges: '49.90',
    total_charges: '598.80',
    support_tickets_90d: '2',
    logins_30d: '15',
    has_autopay: 'true',
    plan: 'basic',
    region: 'north',
  });
  const cases: [string, Partial<Record<string, string>>][] = [
    ['unknown category', { plan: 'platinum' }],
    ['out of range', { tenure_months: '-4' }],
    ['wrong type', { logins_30d: 'many' }],
    ['missing required value', { monthly_charges: '' }],
    ['bad boolean', { has_autopay: 'maybe' }],
    ['out of range', { support_tickets_90d: '5000' }],
  ];
  const header = training ? HEADER_TRAINING : HEADER_INFERENCE;
  const lines: string[] = [];
  const specs: BadRowSpec[] = [];
  cases.forEach(([rule, patch], i) => {
    const id = `${prefix}${String(i + 1).padStart(3, '0')}`;
    const row: Record<string, string> = { ...good(id), ...patch } as Record<string, string>;
    lines.push(header.map((h) => row[h] ?? '').join(','));
    specs.push({ id, rule });
  });
  return { lines, specs };
}

const dayIndex = (date: string) => Math.round(Date.parse(`${date}T00:00:00Z`) / 86_400_000);

/** Generate the whole data set in memory. */
export function generateSampleData(options: SampleDataOptions = {}): SampleDataSet {
  const n = options.customers ?? 20_000;
  if (!Number.isInteger(n) || n < 10) throw new Error(`customers must be an integer >= 10, got ${n}`);
  const seed = options.seed ?? 42;
  const parts = options.partsPerDay ?? 2;
  if (!Number.isInteger(parts) || parts < 1) throw new Error(`partsPerDay must be an integer >= 1, got ${parts}`);

  const rand = prng(seed, 'customers');
  const customers: Customer[] = [];
  for (let i = 1; i <= n; i++) customers.push(makeCustomer(`C${String(i).padStart(7, '0')}`, rand));
  const base = dayIndex(TRAINING_DATES[0]);

  const files: SampleFile[] = [];
  const allBad: BadRowSpec[] = [];

  // Training: the customers split over two labelled snapshots (each customer is labelled once).
  const trainScores: number[] = [];
  const trainLabels: number[] = [];
  TRAINING_DATES.forEach((date, t) => {
    const r = prng(seed, `training:${date}`);
    const lines = [HEADER_TRAINING.join(',')];
    let rows = 0;
    for (let i = t; i < n; i += TRAINING_DATES.length) {
      const s = snapshot(customers[i]!, dayIndex(date) - base, r);
      const z = churnLogit(s);
      // Noise no feature explains keeps the achievable AUC near 0.8.
      const label = r() < sigmoid(1.35 * z + normal(r) * 0.6) ? 1 : 0;
      trainScores.push(z);
      trainLabels.push(label);
      lines.push(fmtRow(s, date, label));
      rows++;
    }
    let bad = 0;
    if (t === 0) {
      const b = badRows(date, true, 'BADTRAIN');
      lines.push(...b.lines);
      allBad.push(...b.specs);
      bad = b.lines.length;
    }
    files.push({
      key: `training/dt=${date}/part-0.csv`,
      kind: 'training',
      phase: 'initial',
      asOf: date,
      rows: rows + bad,
      badRows: bad,
      body: `${lines.join('\n')}\n`,
    });
  });

  const inferenceDay = (date: string, phase: SamplePhase, ids: Customer[], withBad: boolean) => {
    const r = prng(seed, `inference:${date}`);
    const rows = ids.map((c) => fmtRow(snapshot(c, dayIndex(date) - base, r), date));
    const b = withBad ? badRows(date, false, `BAD${date.replace(/-/g, '')}-`) : { lines: [], specs: [] };
    allBad.push(...b.specs);
    const per = Math.ceil(rows.length / parts);
    for (let p = 0; p < parts; p++) {
      const chunk = rows.slice(p * per, (p + 1) * per);
      const bad = p === 0 ? b.lines : [];
      if (chunk.length === 0 && bad.length === 0) continue;
      files.push({
        key: `inference/dt=${date}/part-${p}.csv`,
        kind: 'inference',
        phase,
        asOf: date,
        rows: chunk.length + bad.length,
        badRows: bad.length,
        body: `${[HEADER_INFERENCE.join(','), ...chunk, ...bad].join('\n')}\n`,
      });
    }
  };

  INFERENCE_DATES.forEach((date, i) => {
    inferenceDay(date, 'initial', customers, i === 0);
  });
  inferenceDay(LATER_DATE, 'later', customers, false);

  // The late, older day: a tenth of the known customers (must keep their newer scores) plus a few only seen here.
  const lateRand = prng(seed, 'late-only');
  const lateOnly: Customer[] = [];
  const lateOnlyCount = Math.max(3, Math.round(n / 1000));
  for (let i = 1; i <= lateOnlyCount; i++) lateOnly.push(makeCustomer(`L${String(i).padStart(7, '0')}`, lateRand));
  inferenceDay(LATE_OLDER_DATE, 'late', [...customers.slice(0, Math.max(1, Math.floor(n / 10))), ...lateOnly], false);

  const churnRate = trainLabels.reduce((a, b) => a + b, 0) / trainLabels.length;
  return {
    files,
    trainingDates: [...TRAINING_DATES],
    inferenceDates: [...INFERENCE_DATES],
    laterDate: LATER_DATE,
    lateDate: LATE_OLDER_DATE,
    customerIds: customers.map((c) => c.id),
    lateOnlyIds: lateOnly.map((c) => c.id),
    badRows: allBad,
    trueAuc: auc(trainScores, trainLabels),
    churnRate,
  };
}

/** Write the files under `dir` (same relative keys as in the bucket). */
export function writeSampleData(data: SampleDataSet, dir: string): string[] {
  return data.files.map((f) => {
    const file = path.join(dir, f.key);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, f.body);
    return file;
  });
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const get = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const customers = Number(get('--customers') ?? 20_000);
  const out = get('--out') ?? path.join('local-run', 'sample-data');
  const data = generateSampleData({ customers, seed: Number(get('--seed') ?? 42) });
  const written = writeSampleData(data, out);
  console.log(
    `${written.length} files under ${out}; churn rate ${(data.churnRate * 100).toFixed(1)}%, true AUC ${data.trueAuc.toFixed(3)}`,
  );
}
