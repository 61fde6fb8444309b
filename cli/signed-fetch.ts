import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { createSignedFetcher } from 'aws-sigv4-fetch';
import { DependencyError } from '../contracts/errors';

/**
 * Requests to the IAM-authorized read API, signed with SigV4 by aws-sigv4-fetch (the SDK's own signer around
 * `fetch`). The default credential chain is passed in explicitly: the library's own fallback loads it with a dynamic
 * `import()`, which CommonJS runners (jest, tsx/cjs) cannot always resolve.
 */

/** Region of an execute-api URL (`https://<id>.execute-api.<region>.amazonaws.com/<stage>/`). */
export function regionOfApiUrl(url: URL): string {
  const m = /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname);
  return m?.[1] ?? process.env.AWS_REGION ?? 'us-east-1';
}

/**
 * Call the read API with a SigV4-signed request, as any AWS client would. Returns the status and the parsed JSON
 * body (the text when it is not JSON); a network failure is a DependencyError.
 */
export async function signedJson(
  method: 'GET' | 'POST',
  url: URL,
  body?: unknown,
  options: { readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider } = {},
): Promise<{ status: number; body: unknown }> {
  const signedFetch = createSignedFetcher({
    service: 'execute-api',
    region: regionOfApiUrl(url),
    credentials: options.credentials ?? defaultProvider(),
  });
  const payload = body === undefined ? undefined : JSON.stringify(body);
  let res: Response;
  try {
    res = await signedFetch(url, {
      method,
      ...(payload ? { body: payload, headers: { 'content-type': 'application/json' } } : {}),
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
