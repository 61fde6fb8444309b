/**
 * CloudFormation intrinsics resolved to local values: every resource gets a deterministic local name and ARN in the
 * local account and region, the names moto_server is provisioned with and the handlers are configured with.
 */
import { LOCAL_ACCOUNT, localPhysicalName, NAME_PROPERTY, shortHash } from './names';
import type { CfnResource, SynthesizedApp, SynthesizedStack } from './synth';

export interface LocalEnvironment {
  /** @default process.env.AWS_REGION ?? 'us-east-1' */
  readonly region?: string;
  /** @default LOCAL_ACCOUNT */
  readonly account?: string;
}

/** Marker for `AWS::NoValue`: the property is removed. */
const NO_VALUE = Symbol('AWS::NoValue');

/** Returned by the intrinsic dispatch for a key that is not an intrinsic (the object is resolved as a map). */
const NOT_INTRINSIC = Symbol('not an intrinsic');

interface Located {
  readonly stack: SynthesizedStack;
  readonly logicalId: string;
  readonly resource: CfnResource;
}

/**
 * Resolves CloudFormation intrinsics (`Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, `Fn::Select`, `Fn::Split`,
 * `Fn::ImportValue`, `Fn::If` + conditions, `Fn::FindInMap`, `Fn::GetAZs`, `Fn::Base64`, pseudo parameters) to local
 * values. Resources resolve to deterministic local names and ARNs in the local account/region.
 */
export class TemplateResolver {
  readonly region: string;
  readonly account: string;
  readonly partition = 'aws';
  private readonly exports = new Map<string, { stack: SynthesizedStack; value: unknown }>();
  private readonly nameCache = new Map<string, string>();
  private readonly resolving = new Set<string>();

  constructor(
    readonly app: SynthesizedApp,
    env: LocalEnvironment = {},
  ) {
    this.region = env.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    this.account = env.account ?? LOCAL_ACCOUNT;
    for (const stack of app.stacks) {
      for (const out of Object.values(stack.template.Outputs ?? {})) {
        if (out.Export) {
          const name = this.resolve(stack, out.Export.Name);
          if (typeof name === 'string') this.exports.set(name, { stack, value: out.Value });
        }
      }
    }
  }

  /** Every resource of every stack with the given CloudFormation type. */
  resourcesOfType(type: string): Located[] {
    const out: Located[] = [];
    for (const stack of this.app.stacks) {
      for (const [logicalId, resource] of Object.entries(stack.template.Resources ?? {})) {
        if (resource.Type === type) out.push({ stack, logicalId, resource });
      }
    }
    return out;
  }

  /** Physical name of a resource: its name property when set, else {@link localPhysicalName}. */
  physicalName(stack: SynthesizedStack, logicalId: string): string {
    const key = `${stack.stackName}/${logicalId}`;
    const cached = this.nameCache.get(key);
    if (cached !== undefined) return cached;
    const resource = stack.template.Resources?.[logicalId];
    if (!resource) throw new Error(`Resource ${logicalId} not found in stack ${stack.stackName}`);
    const prop = NAME_PROPERTY[resource.Type];
    let name: string | undefined;
    const rawName = prop ? resource.Properties?.[prop] : undefined;
    if (rawName !== undefined) {
      if (this.resolving.has(key)) throw new Error(`Circular name reference at ${key}`);
      this.resolving.add(key);
      try {
        const v = this.resolve(stack, rawName);
        if (typeof v === 'string') name = v;
      } finally {
        this.resolving.delete(key);
      }
    }
    name ??= localPhysicalName(stack.stackName, logicalId);
    this.nameCache.set(key, name);
    return name;
  }

  private arn(service: string, resource: string, opts: { region?: boolean; account?: boolean } = {}): string {
    const region = opts.region === false ? '' : this.region;
    const account = opts.account === false ? '' : this.account;
    return `arn:${this.partition}:${service}:${region}:${account}:${resource}`;
  }

  /** What `Ref` returns for a resource. */
  ref(stack: SynthesizedStack, logicalId: string): unknown {
    const resource = stack.template.Resources?.[logicalId];
    if (!resource) {
      const param = stack.template.Parameters?.[logicalId];
      if (param) return param.Default ?? `local-${logicalId}`;
      throw new Error(`Ref to unknown resource or parameter ${logicalId} in stack ${stack.stackName}`);
    }
    const name = this.physicalName(stack, logicalId);
    switch (resource.Type) {
      case 'AWS::SNS::Topic':
        return this.arn('sns', name);
      case 'AWS::StepFunctions::StateMachine':
        return this.arn('states', `stateMachine:${name}`);
      case 'AWS::SageMaker::ModelPackageGroup':
        return this.arn('sagemaker', `model-package-group/${name}`);
      case 'AWS::SecretsManager::Secret':
        return this.arn('secretsmanager', `secret:${name}`);
      case 'AWS::SQS::Queue':
        return `http://sqs.${this.region}.localhost/${this.account}/${name}`;
      case 'AWS::KMS::Key':
        return `local-key-${shortHash(`${stack.stackName}/${logicalId}`)}`;
      default:
        return name;
    }
  }

  /** What `Fn::GetAtt` returns for a resource attribute. */
  getAtt(stack: SynthesizedStack, logicalId: string, attribute: string): unknown {
    const resource = stack.template.Resources?.[logicalId];
    if (!resource) throw new Error(`Fn::GetAtt on unknown resource ${logicalId} in stack ${stack.stackName}`);
    const name = this.physicalName(stack, logicalId);
    const t = resource.Type;
    if (attribute === 'Arn' || attribute.endsWith('Arn')) {
      switch (t) {
        case 'AWS::S3::Bucket':
          return `arn:${this.partition}:s3:::${name}`;
        case 'AWS::DynamoDB::Table':
        case 'AWS::DynamoDB::GlobalTable':
          return attribute === 'StreamArn'
            ? this.arn('dynamodb', `table/${name}/stream/1970-01-01T00:00:00.000`)
            : this.arn('dynamodb', `table/${name}`);
        case 'AWS::Lambda::Function':
          return this.arn('lambda', `function:${name}`);
        case 'AWS::IAM::Role':
          return this.arn('iam', `role/${name}`, { region: false });
        case 'AWS::KMS::Key':
          return this.arn('kms', `key/${String(this.ref(stack, logicalId))}`);
        case 'AWS::SNS::Topic':
        case 'AWS::StepFunctions::StateMachine':
        case 'AWS::SageMaker::ModelPackageGroup':
        case 'AWS::SecretsManager::Secret':
          return this.ref(stack, logicalId);
        case 'AWS::SQS::Queue':
          return this.arn('sqs', name);
        case 'AWS::Logs::LogGroup':
          return this.arn('logs', `log-group:${name}:*`);
        case 'AWS::Events::Rule':
          return this.arn('events', `rule/${name}`);
        default:
          return this.arn(t.split('::')[1]?.toLowerCase() ?? 'local', `${logicalId}/${name}`);
      }
    }
    switch (attribute) {
      case 'TopicName':
      case 'Name':
      case 'QueueName':
      case 'ModelPackageGroupName':
        return name;
      case 'QueueUrl':
        return this.ref(stack, logicalId);
      case 'PrimaryEndPoint.Address':
      case 'ConfigurationEndPoint.Address':
      case 'RedisEndpoint.Address':
        return '127.0.0.1';
      case 'PrimaryEndPoint.Port':
      case 'ConfigurationEndPoint.Port':
      case 'RedisEndpoint.Port':
        return String(resource.Properties?.Port ?? 6379);
      case 'RoleId':
        return `AROA${shortHash(name).toUpperCase()}`;
      case 'RegionalDomainName':
      case 'DomainName':
        return `${name}.s3.${this.region}.localhost`;
      default:
        return `local-${logicalId}-${attribute}`;
    }
  }

  private pseudo(stack: SynthesizedStack, name: string): unknown {
    switch (name) {
      case 'AWS::Region':
        return this.region;
      case 'AWS::AccountId':
        return this.account;
      case 'AWS::Partition':
        return this.partition;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return stack.stackName;
      case 'AWS::StackId':
        return this.arn('cloudformation', `stack/${stack.stackName}/00000000-0000-0000-0000-000000000000`);
      case 'AWS::NoValue':
        return NO_VALUE;
      case 'AWS::NotificationARNs':
        return [];
      default:
        return undefined;
    }
  }

  /** Evaluate a named condition of a stack. */
  condition(stack: SynthesizedStack, name: string): boolean {
    const expr = stack.template.Conditions?.[name];
    if (expr === undefined) throw new Error(`Unknown condition ${name} in stack ${stack.stackName}`);
    return Boolean(this.resolve(stack, expr));
  }

  /** Resolve every intrinsic in `value` (deeply) in the context of `stack`. */
  resolve(stack: SynthesizedStack, value: unknown): unknown {
    const v = this.resolveInner(stack, value);
    return v === NO_VALUE ? undefined : v;
  }

  /** Resolve to a string, failing with the location when the value is not one. */
  resolveString(stack: SynthesizedStack, value: unknown, where: string): string {
    const v = this.resolve(stack, value);
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw new Error(`${where}: expected a string after resolving intrinsics, got ${JSON.stringify(v)}`);
  }

  private resolveInner(stack: SynthesizedStack, value: unknown): unknown {
    if (Array.isArray(value)) {
      return value.map((v) => this.resolveInner(stack, v)).filter((v) => v !== NO_VALUE);
    }
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1) {
      const k = keys[0]!;
      const resolved = this.intrinsic(stack, k, obj[k]);
      if (resolved !== NOT_INTRINSIC) return resolved;
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      const r = this.resolveInner(stack, v);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  }

  /** The value of a one-key object `{ [k]: arg }` when `k` names an intrinsic, else {@link NOT_INTRINSIC}. */
  private intrinsic(stack: SynthesizedStack, k: string, arg: unknown): unknown {
    switch (k) {
      case 'Ref': {
        const name = String(arg);
        const p = this.pseudo(stack, name);
        return p !== undefined ? p : this.ref(stack, name);
      }
      case 'Fn::GetAtt': {
        const [id, ...attr] = Array.isArray(arg) ? (arg as unknown[]).map(String) : String(arg).split('.');
        return this.getAtt(stack, id!, attr.join('.'));
      }
      case 'Fn::Join':
        return this.join(stack, arg);
      case 'Fn::Sub':
        return this.sub(stack, arg);
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        const arr = this.resolveInner(stack, list);
        const i = Number(this.resolveInner(stack, index));
        if (!Array.isArray(arr) || arr[i] === undefined) throw new Error(`Fn::Select index ${i} out of range`);
        return arr[i];
      }
      case 'Fn::Split': {
        const [sep, s] = arg as [string, unknown];
        return String(this.resolveInner(stack, s)).split(sep);
      }
      case 'Fn::ImportValue':
      case 'Fn::GetStackOutput':
        return this.crossStack(stack, k, arg);
      case 'Fn::FindInMap': {
        const [map, k1, k2] = (arg as unknown[]).map((x) => this.resolveInner(stack, x));
        const found = stack.template.Mappings?.[String(map)]?.[String(k1)]?.[String(k2)];
        if (found === undefined) throw new Error(`Fn::FindInMap: ${String(map)}.${String(k1)}.${String(k2)} not found`);
        return this.resolveInner(stack, found);
      }
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((s) => `${this.region}${s}`);
      case 'Fn::Base64':
        return Buffer.from(String(this.resolveInner(stack, arg))).toString('base64');
      default: {
        const logical = this.logical(stack, k, arg);
        if (logical !== NOT_INTRINSIC) return logical;
        if (k.startsWith('Fn::'))
          throw new Error(`Unsupported intrinsic ${k} in stack ${stack.stackName}: ${JSON.stringify(arg)}`);
        return NOT_INTRINSIC;
      }
    }
  }

  /** The condition functions (`Fn::If`, `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`). */
  private logical(stack: SynthesizedStack, k: string, arg: unknown): unknown {
    switch (k) {
      case 'Fn::If': {
        const [cond, whenTrue, whenFalse] = arg as [string, unknown, unknown];
        return this.resolveInner(stack, this.condition(stack, cond) ? whenTrue : whenFalse);
      }
      case 'Fn::Equals': {
        const [a, b] = (arg as unknown[]).map((x) => this.resolveInner(stack, x));
        return JSON.stringify(a) === JSON.stringify(b);
      }
      case 'Fn::Not':
        return !this.resolveInner(stack, (arg as unknown[])[0]);
      case 'Fn::And':
        return (arg as unknown[]).every((x) => Boolean(this.resolveInner(stack, x)));
      case 'Fn::Or':
        return (arg as unknown[]).some((x) => Boolean(this.resolveInner(stack, x)));
      case 'Condition':
        return this.condition(stack, String(arg));
      default:
        return NOT_INTRINSIC;
    }
  }

  private join(stack: SynthesizedStack, arg: unknown): string {
    const [sep, parts] = arg as [string, unknown];
    const list = this.resolveInner(stack, parts);
    if (!Array.isArray(list)) throw new Error(`Fn::Join expects a list, got ${JSON.stringify(list)}`);
    return list
      .map((p) => {
        if (typeof p === 'string') return p;
        if (typeof p === 'number' || typeof p === 'boolean') return String(p);
        throw new Error(`Fn::Join in stack ${stack.stackName}: a part resolved to ${JSON.stringify(p)}, not a string`);
      })
      .join(String(sep));
  }

  /** `Fn::ImportValue` (an export of any stack) and CDK's `Fn::GetStackOutput` (same account and region here). */
  private crossStack(stack: SynthesizedStack, k: 'Fn::ImportValue' | 'Fn::GetStackOutput', arg: unknown): unknown {
    if (k === 'Fn::ImportValue') {
      const name = String(this.resolveInner(stack, arg));
      const exp = this.exports.get(name);
      if (!exp) throw new Error(`Fn::ImportValue: no stack exports ${name}`);
      return this.resolveInner(exp.stack, exp.value);
    }
    const a = this.resolveInner(stack, arg) as { StackName?: unknown; OutputName?: unknown };
    const producer = this.app.stacks.find((s) => s.stackName === a.StackName);
    const out = producer?.template.Outputs?.[String(a.OutputName)];
    if (!producer || !out)
      throw new Error(`Fn::GetStackOutput: no output ${String(a.OutputName)} in stack ${String(a.StackName)}`);
    return this.resolveInner(producer, out.Value);
  }

  private sub(stack: SynthesizedStack, arg: unknown): string {
    let template: string;
    let vars: Record<string, unknown> = {};
    if (Array.isArray(arg)) {
      template = String(arg[0]);
      vars = (arg[1] ?? {}) as Record<string, unknown>;
    } else {
      template = String(arg);
    }
    return template.replace(/\$\{(!?)([^}]+)\}/g, (_m, bang: string, expr: string) => {
      if (bang) return `\${${expr}}`;
      if (expr in vars) return String(this.resolveInner(stack, vars[expr]));
      const p = this.pseudo(stack, expr);
      if (p !== undefined && p !== NO_VALUE) return String(p);
      const dot = expr.indexOf('.');
      if (dot > 0) return String(this.getAtt(stack, expr.slice(0, dot), expr.slice(dot + 1)));
      return String(this.ref(stack, expr));
    });
  }
}
