import { createHash, createHmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { DependencyError } from '../contracts/errors';

/** SHA-256 (and HMAC-SHA-256 with a secret) for SignatureV4, on node:crypto. */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: SourceData): string | Uint8Array =>
  typeof d === 'string'
    ? d
    : d instanceof ArrayBuffer
      ? new Uint8Array(d)
      : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

class Sha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

/** Region of an execute-api URL (`https://<id>.execute-api.<region>.amazonaws.com/<stage>/`). */
export function regionOfApiUrl(url: URL): string {
  const m = /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname);
  return m?.[1] ?? process.env.AWS_REGION ?? 'us-east-1';
}

/**
 * Call the IAM-authorized read API with a SigV4-signed request (default credential chain), as any AWS client would.
 * Returns the status and parsed JSON body; a network failure is a DependencyError.
 */
export async function signedJson(
  method: 'GET' | 'POST',
  url: URL,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const signer = new SignatureV4({
    service: 'execute-api',
    region: regionOfApiUrl(url),
    credentials: defaultProvider(),
    sha256: Sha256,
  });
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const query: Record<string, string> = {};
  url.searchParams.forEach((v, k) => {
    query[k] = v;
  });
  const signed = await signer.sign({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    path: url.pathname,
    query,
    headers: { host: url.host, ...(payload ? { 'content-type': 'application/json' } : {}) },
    ...(payload ? { body: payload } : {}),
  });
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: signed.headers as Record<string, string>,
      ...(payload ? { body: payload } : {}),
    });
  } catch (err) {
    throw new DependencyError(`Read API ${url.origin} unreachable: ${(err as Error).message}`, { cause: err });
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, body: parsed };
}
