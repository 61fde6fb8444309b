/**
 * Shared fixtures of the BatchInference tests (state-machine tests and the fault suite): deterministic feature values
 * that satisfy the contract, S3 URI parsing, and the loop of the fake `Transform` (manifest in, `<part>.out` out with
 * `id,segment,score` — the contract's DataProcessing `$[2:]` / `$[0,1,-1]`). Each test supplies its own score.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { loadDefaultContract } from '../../lambdas/data/contract';

export const contract = loadDefaultContract();
const PLANS = ['basic', 'standard', 'premium'];
const REGIONS = ['north', 'south', 'east', 'west', ''];

/** Valid feature values for row `i` (every 17th `total_charges` null, every 5th `region` null). */
export function featureValues(i: number): Record<string, string> {
  const tenure = (i * 7) % 72;
  const monthly = 20 + ((i * 13) % 100);
  return {
    tenure_months: String(tenure),
    monthly_charges: monthly.toFixed(2),
    total_charges: i % 17 === 0 ? '' : (tenure * monthly).toFixed(2),
    support_tickets_90d: String(i % 9),
    logins_30d: String((i * 5) % 60),
    has_autopay: i % 2 === 0 ? 'true' : 'false',
    plan: PLANS[i % 3]!,
    region: REGIONS[i % 5]!,
  };
}

export const parseUri = (uri: string): { Bucket: string; Key: string } => {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  if (!m) throw new Error(`not an S3 URI: ${uri}`);
  return { Bucket: m[1]!, Key: m[2]! };
};

export async function s3Text(s3: S3Client, uri: string): Promise<string> {
  const res = await s3.send(new GetObjectCommand(parseUri(uri)));
  return (await res.Body?.transformToString('utf-8')) ?? '';
}

/**
 * What the fake `Transform` does for one job: read the manifest, score each input row (`score` gets the encoded
 * features, i.e. InputFilter `$[2:]`), and write `<part>.out` rows `id,segment,score` (OutputFilter `$[0,1,-1]`).
 * `mutate` may change a part's lines before they are written (fault injection).
 */
export async function writeTransformOutputs(
  s3: S3Client,
  manifestUri: string,
  outputPath: string,
  score: (features: number[]) => number,
  mutate?: (part: string, lines: string[]) => string[],
): Promise<void> {
  const [{ prefix }, ...parts] = JSON.parse(await s3Text(s3, manifestUri)) as [{ prefix: string }, ...string[]];
  for (const part of parts) {
    const rows = (await s3Text(s3, `${prefix}${part}`)).split('\n').filter((l) => l.length > 0);
    let out = rows.map((line) => {
      const cols = line.split(',');
      return `${cols[0]},${cols[1]},${score(cols.slice(2).map(Number)).toFixed(6)}`;
    });
    if (mutate) out = mutate(part, out);
    await s3.send(
      new PutObjectCommand({ ...parseUri(`${outputPath}${part}.out`), Body: out.map((l) => `${l}\n`).join('') }),
    );
  }
}
