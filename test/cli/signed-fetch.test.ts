/**
 * The CLI's AWS `score` path (cli/scores.ts → cli/signed-fetch.ts) against a local HTTP server playing the read
 * API: the server checks the SigV4 signature by recomputing it from the request it received (the algorithm as AWS
 * documents it, on node:crypto), then answers like the API.
 */
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { score } from '../../cli/scores';
import { regionOfApiUrl, signedJson } from '../../cli/signed-fetch';
import type { Target } from '../../cli/target';
import { DependencyError, ValidationError } from '../../contracts/errors';

const KEY = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const hmac = (k: string | Buffer, s: string) => createHmac('sha256', k).update(s).digest();

/** The signature AWS would compute for this request, or why the request is not a SigV4 request. */
function expectedSignature(req: IncomingMessage, body: string, secret: string): { signature: string } | string {
  const auth = req.headers.authorization ?? '';
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m) return `not a SigV4 Authorization header: ${auth}`;
  const [, , date, region, service, signedHeaders] = m as unknown as string[];
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const url = new URL(req.url ?? '/', 'http://x');
  const canonicalQuery = [...url.searchParams.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  const names = signedHeaders!.split(';');
  const canonicalHeaders = names.map((n) => `${n}:${String(req.headers[n] ?? '').trim()}\n`).join('');
  const canonical = [req.method, url.pathname, canonicalQuery, canonicalHeaders, signedHeaders, sha256(body)].join(
    '\n',
  );
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const kDate = hmac(`AWS4${secret}`, date!);
  const kSigning = hmac(hmac(hmac(kDate, region!), service!), 'aws4_request');
  return { signature: hmac(kSigning, toSign).toString('hex') };
}

interface Seen {
  method: string;
  path: string;
  body: string;
  credential: string;
  signedHeaders: string;
  valid: boolean;
}

describe('signed requests to the read API (aws-sigv4-fetch) against a local HTTP server', () => {
  let server: Server;
  let base: string;
  const seen: Seen[] = [];
  let answer: { status: number; body: unknown } = { status: 200, body: {} };
  const saved = { ...process.env };

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        const expected = expectedSignature(req, body, KEY.secretAccessKey);
        const auth = req.headers.authorization ?? '';
        seen.push({
          method: req.method ?? '',
          path: req.url ?? '',
          body,
          credential: /Credential=([^,]+)/.exec(auth)?.[1] ?? '',
          signedHeaders: /SignedHeaders=([^,]+)/.exec(auth)?.[1] ?? '',
          valid: typeof expected !== 'string' && auth.endsWith(`Signature=${expected.signature}`),
        });
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod/`;
    process.env.AWS_ACCESS_KEY_ID = KEY.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = KEY.secretAccessKey;
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    process.env.AWS_REGION = 'eu-west-1';
  });

  afterAll(async () => {
    process.env = saved;
    await new Promise<void>((r) => server.close(() => r()));
  });

  beforeEach(() => {
    seen.length = 0;
  });

  const awsTarget = (): Target =>
    ({ mode: 'aws', envName: 'dev', outputs: { ApiUrl: base }, clients: {} }) as unknown as Target;

  it('score on AWS: POST /scores/batch with ids and segment, signed for execute-api with the default credentials', async () => {
    const items = [{ entityId: 'C1', score: 0.42, source: 'model', modelVersion: '3', asOf: '2026-11-05' }];
    answer = { status: 200, body: { items, notFound: ['NEW-1'] } };
    const res = await score(awsTarget(), ['C1', 'NEW-1'], 'premium');
    expect(res).toEqual({ items, notFound: ['NEW-1'] });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toEqual(
      expect.objectContaining({
        method: 'POST',
        path: '/prod/scores/batch',
        credential: expect.stringMatching(/^AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request$/),
        valid: true,
      }),
    );
    expect(JSON.parse(seen[0]!.body)).toEqual({ ids: ['C1', 'NEW-1'], segment: 'premium' });
    expect(seen[0]!.signedHeaders.split(';')).toEqual(expect.arrayContaining(['host', 'x-amz-date']));
  });

  it('the server tells a forged signature apart (the check above can fail)', async () => {
    answer = { status: 200, body: {} };
    await signedJson('GET', new URL(`${base}scores/C1?segment=basic`), undefined, {
      credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey: 'not-the-secret' },
    });
    expect(seen[0]).toEqual(
      expect.objectContaining({ method: 'GET', path: '/prod/scores/C1?segment=basic', valid: false }),
    );
  });

  it('a 4xx answer is a ValidationError (exit 2 in the CLI), a 5xx a DependencyError, both with the API message', async () => {
    answer = { status: 400, body: { message: 'body.ids[0] "x y" is not a valid entity id' } };
    await expect(score(awsTarget(), ['C1'])).rejects.toEqual(
      new ValidationError('read API answered 400: body.ids[0] "x y" is not a valid entity id'),
    );
    answer = { status: 503, body: { message: 'score cache unreachable' } };
    const err = await score(awsTarget(), ['C1']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DependencyError);
    expect((err as Error).message).toBe('read API answered 503: score cache unreachable');
  });

  it('an unreachable API is a DependencyError naming its origin', async () => {
    const err = await signedJson('GET', new URL('http://127.0.0.1:1/prod/scores/C1')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DependencyError);
    expect((err as Error).message).toMatch(/^Read API http:\/\/127\.0\.0\.1:1 unreachable: /);
  });

  it('regionOfApiUrl: the region of an execute-api host, else AWS_REGION', () => {
    expect(regionOfApiUrl(new URL('https://abc123.execute-api.eu-central-1.amazonaws.com/prod/'))).toBe('eu-central-1');
    expect(regionOfApiUrl(new URL(base))).toBe('eu-west-1');
  });
});
