/**
 * The IAM side of the synthesized app, with every intrinsic resolved to the local account, region and names
 * (local/runtime/intrinsics.ts, the same names the local runtime runs with): each role's identity policies, which
 * role each function and state machine runs as, the resource policies (bucket, key, topic, queue) and which
 * resources are encrypted with which customer managed KMS key.
 */
import { type LocalEnvironment, TemplateResolver } from '../runtime/intrinsics';
import type { CfnResource, SynthesizedApp, SynthesizedStack } from '../runtime/synth';
import type { AuthRequest } from './requests';

export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: readonly Record<string, unknown>[];
}

export interface RoleInfo {
  readonly arn: string;
  readonly name: string;
  /** Construct path without the stack and `/Resource` (stable across environments), e.g. `Workflow/NotifyFunction/Role`. */
  readonly path: string;
  readonly assumedBy: readonly string[];
  readonly policies: readonly { readonly name: string; readonly document: PolicyDocument }[];
  /** AWS managed policies attached by ARN: their documents are not in the template. */
  readonly awsManaged: readonly string[];
}

export interface PrincipalInfo {
  readonly kind: 'function' | 'stateMachine';
  readonly arn: string;
  /** Construct path without the stack, e.g. `Training/StartRunFunction`. */
  readonly path: string;
  readonly roleArn: string;
  /** `mlops:entry` of a function (functions without one are CDK's own custom-resource handlers). */
  readonly entry?: string;
}

const pathOf = (stack: SynthesizedStack, r: CfnResource, fallback: string): string => {
  const p = r.Metadata?.['aws:cdk:path'];
  if (typeof p !== 'string') return fallback;
  return p
    .slice(p.startsWith(`${stack.path}/`) ? stack.path.length + 1 : 0)
    .replace(/\/(Resource|DefaultPolicy\/Resource)$/, '');
};

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/** KMS actions a service makes with the caller's permissions, per kind of data access. */
const KMS_FOR: Readonly<Record<NonNullable<AuthRequest['data']>, readonly string[]>> = {
  read: ['kms:Decrypt'],
  write: ['kms:GenerateDataKey'],
  readwrite: ['kms:GenerateDataKey', 'kms:Decrypt'],
};

export class IamModel {
  readonly region: string;
  readonly account: string;
  readonly roles = new Map<string, RoleInfo>();
  readonly principals = new Map<string, PrincipalInfo>();
  /** Bucket/topic/queue/key ARN → its resource policy. */
  private readonly resourcePolicies = new Map<string, PolicyDocument>();
  /** Bucket/table/topic/secret/queue ARN → KMS key ARN. */
  private readonly encryption = new Map<string, string>();
  /** Physical name → a stable token (`{ArtifactsBucket}`) for justification keys. */
  private readonly tokens: [string, string][] = [];
  private readonly resolver: TemplateResolver;

  constructor(app: SynthesizedApp, env: LocalEnvironment = {}) {
    this.resolver = new TemplateResolver(app, env);
    this.region = this.resolver.region;
    this.account = this.resolver.account;
    for (const stack of app.stacks) {
      for (const [id, resource] of Object.entries(stack.template.Resources ?? {})) this.read(stack, id, resource);
    }
    for (const stack of app.stacks) {
      for (const [id, resource] of Object.entries(stack.template.Resources ?? {})) this.attach(stack, id, resource);
    }
    this.tokens.sort((a, b) => b[0].length - a[0].length);
  }

  private r(stack: SynthesizedStack, v: unknown): unknown {
    return this.resolver.resolve(stack, v);
  }

  /** Roles, principals, names, encryption. */
  private read(stack: SynthesizedStack, id: string, res: CfnResource): void {
    const p = res.Properties ?? {};
    const token = `{${id.replace(/[0-9A-F]{8}$/, '')}}`;
    const name = this.resolver.physicalName(stack, id);
    if (name.length > 6) this.tokens.push([name, token]);
    switch (res.Type) {
      case 'AWS::IAM::Role': {
        const arn = String(this.resolver.getAtt(stack, id, 'Arn'));
        const trust = this.r(stack, p.AssumeRolePolicyDocument) as PolicyDocument | undefined;
        const inline = asArray(this.r(stack, p.Policies)) as { PolicyName: string; PolicyDocument: PolicyDocument }[];
        const managed = asArray(this.r(stack, p.ManagedPolicyArns)).map(String);
        this.roles.set(arn, {
          arn,
          name,
          path: pathOf(stack, res, id),
          assumedBy: (trust?.Statement ?? []).flatMap((s) =>
            asArray((s.Principal as { Service?: unknown } | undefined)?.Service).map(String),
          ),
          policies: inline.map((x) => ({ name: `${id}/${x.PolicyName}`, document: x.PolicyDocument })),
          awsManaged: managed.filter((m) => m.includes(':iam::aws:policy/')),
        });
        break;
      }
      case 'AWS::Lambda::Function': {
        const arn = String(this.resolver.getAtt(stack, id, 'Arn'));
        const entry = res.Metadata?.['mlops:entry'];
        this.principals.set(arn, {
          kind: 'function',
          arn,
          path: pathOf(stack, res, id),
          roleArn: String(this.r(stack, p.Role)),
          ...(typeof entry === 'string' ? { entry } : {}),
        });
        break;
      }
      case 'AWS::StepFunctions::StateMachine': {
        const arn = String(this.resolver.ref(stack, id));
        this.principals.set(arn, {
          kind: 'stateMachine',
          arn,
          path: pathOf(stack, res, id),
          roleArn: String(this.r(stack, p.RoleArn)),
        });
        break;
      }
      case 'AWS::KMS::Key':
        this.tokens.push([String(this.resolver.ref(stack, id)), token]);
        this.resourcePolicies.set(
          String(this.resolver.getAtt(stack, id, 'Arn')),
          this.r(stack, p.KeyPolicy) as PolicyDocument,
        );
        break;
      default:
        this.readEncryption(stack, id, res);
    }
  }

  private readEncryption(stack: SynthesizedStack, id: string, res: CfnResource): void {
    const p = res.Properties ?? {};
    const set = (arn: unknown, key: unknown) => {
      if (typeof key === 'string' && key.startsWith('arn:')) this.encryption.set(String(arn), key);
    };
    switch (res.Type) {
      case 'AWS::S3::Bucket': {
        const rules = (
          this.r(stack, p.BucketEncryption) as { ServerSideEncryptionConfiguration?: unknown[] } | undefined
        )?.ServerSideEncryptionConfiguration as { ServerSideEncryptionByDefault?: { KMSMasterKeyID?: unknown } }[];
        set(this.resolver.getAtt(stack, id, 'Arn'), rules?.[0]?.ServerSideEncryptionByDefault?.KMSMasterKeyID);
        break;
      }
      case 'AWS::DynamoDB::Table':
        set(
          this.resolver.getAtt(stack, id, 'Arn'),
          (this.r(stack, p.SSESpecification) as { KMSMasterKeyId?: unknown } | undefined)?.KMSMasterKeyId,
        );
        break;
      case 'AWS::SNS::Topic':
        set(this.resolver.ref(stack, id), this.r(stack, p.KmsMasterKeyId));
        break;
      case 'AWS::SQS::Queue':
        set(this.resolver.getAtt(stack, id, 'Arn'), this.r(stack, p.KmsMasterKeyId));
        break;
      case 'AWS::SecretsManager::Secret':
        set(this.resolver.ref(stack, id), this.r(stack, p.KmsKeyId));
        break;
    }
  }

  /** Identity policies onto roles, resource policies onto their resources. */
  private attach(stack: SynthesizedStack, id: string, res: CfnResource): void {
    const p = res.Properties ?? {};
    if (res.Type === 'AWS::IAM::Policy' || res.Type === 'AWS::IAM::ManagedPolicy') {
      const document = this.r(stack, p.PolicyDocument) as PolicyDocument;
      for (const roleName of asArray(this.r(stack, p.Roles)).map(String)) {
        const role = [...this.roles.values()].find((x) => x.name === roleName);
        if (role) (role.policies as { name: string; document: PolicyDocument }[]).push({ name: id, document });
      }
      return;
    }
    const doc = () => this.r(stack, p.PolicyDocument) as PolicyDocument;
    if (res.Type === 'AWS::S3::BucketPolicy')
      this.resourcePolicies.set(`arn:aws:s3:::${String(this.r(stack, p.Bucket))}`, doc());
    if (res.Type === 'AWS::SNS::TopicPolicy')
      for (const t of asArray(this.r(stack, p.Topics))) this.resourcePolicies.set(String(t), doc());
    if (res.Type === 'AWS::SQS::QueuePolicy') {
      for (const url of asArray(this.r(stack, p.Queues)).map(String)) {
        const name = url.split('/').pop() ?? url;
        this.resourcePolicies.set(`arn:aws:sqs:${this.region}:${this.account}:${name}`, doc());
      }
    }
  }

  /** The principal a recorded call or task ran as. */
  principal(arn: string): PrincipalInfo | undefined {
    return this.principals.get(arn);
  }

  role(arn: string): RoleInfo | undefined {
    return this.roles.get(arn);
  }

  /** The resource policy that applies to a request's resource (bucket policy for objects too), if any. */
  resourcePolicy(resource: string): PolicyDocument | undefined {
    if (resource.startsWith('arn:aws:s3:::')) return this.resourcePolicies.get(resource.split('/')[0]!);
    return this.resourcePolicies.get(resource);
  }

  /** The customer managed key encrypting a request's target (an object's bucket, an index's table), if any. */
  keyFor(resource: string): string | undefined {
    if (resource.startsWith('arn:aws:s3:::')) return this.encryption.get(resource.split('/')[0]!);
    if (resource.startsWith('arn:aws:dynamodb:')) return this.encryption.get(resource.replace(/\/index\/.*$/, ''));
    return this.encryption.get(resource);
  }

  /**
   * The KMS requests the service makes with the caller's credentials when the target of `req` is encrypted with a
   * customer managed key (S3 SSE-KMS, DynamoDB, SNS, SQS, Secrets Manager all pass kms:ViaService).
   */
  impliedKms(req: AuthRequest): AuthRequest[] {
    if (!req.data) return [];
    const key = req.kmsKey ?? this.keyFor(req.resource);
    if (!key) return [];
    const service = req.action.split(':')[0]!;
    // DynamoDB decrypts the table key for reads and writes alike.
    const actions = service === 'dynamodb' ? KMS_FOR.read : KMS_FOR[req.data];
    return actions.map((action) => ({
      action,
      resource: key,
      context: { 'kms:ViaService': `${service}.${this.region}.amazonaws.com` },
    }));
  }

  /** A resource ARN or pattern with account, region and physical names as stable tokens: `s3:::{ArtifactsBucket}/batch/*`. */
  normalize(resource: string): string {
    let s = resource;
    for (const [name, token] of this.tokens) s = s.split(name).join(token);
    return s.split(this.account).join('{account}').split(this.region).join('{region}');
  }
}
