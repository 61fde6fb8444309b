/**
 * The EventBridge events AWS services emit, built the way they arrive (the whole envelope), for the local runtime and
 * the tests. The handlers parse them with Powertools' schemas, so a builder that left out a field AWS always sends
 * would fail there, as it should.
 */
import { randomUUID } from 'node:crypto';

export interface ObjectCreatedFields {
  readonly account: string;
  readonly region: string;
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  /** With or without the quotes S3 puts around it in PutObject's response. */
  readonly etag: string;
  /** S3 always sends one; optional for tests of ordering without it. */
  readonly sequencer?: string;
  readonly versionId?: string;
  /** @default - a random UUID */
  readonly id?: string;
  /** @default - now */
  readonly time?: Date;
}

/** The "Object Created" event S3 sends to EventBridge for one PutObject. */
export function objectCreatedEvent(f: ObjectCreatedFields) {
  return {
    version: '0',
    id: f.id ?? randomUUID(),
    'detail-type': 'Object Created' as const,
    source: 'aws.s3' as const,
    account: f.account,
    time: (f.time ?? new Date()).toISOString(),
    region: f.region,
    resources: [`arn:aws:s3:::${f.bucket}`],
    detail: {
      version: '0',
      bucket: { name: f.bucket },
      object: {
        key: f.key,
        size: f.size,
        etag: f.etag.replace(/"/g, ''),
        ...(f.versionId ? { 'version-id': f.versionId } : {}),
        ...(f.sequencer ? { sequencer: f.sequencer } : {}),
      },
      'request-id': randomUUID(),
      requester: f.account,
      reason: 'PutObject',
    },
  };
}
