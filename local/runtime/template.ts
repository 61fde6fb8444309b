/**
 * Synthesize the CDK app in-process and read what the local runtime needs out of the CloudFormation templates:
 * state machine definitions (with every intrinsic resolved to a deterministic local name or ARN), the physical names of
 * buckets, table, topics and model package group, and each Lambda function's handler module (`mlops:entry` metadata)
 * and resolved environment.
 *
 * The templates are the single source of truth: nothing here keeps a second list of resources.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { App } from 'aws-cdk-lib';

/** Repository root (this file lives in `<root>/local`). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Account id moto_server uses by default; local ARNs use it so they match what the emulator returns. */
export const LOCAL_ACCOUNT = '123456789012';

// ---------------------------------------------------------------------------------------------------------------
// Template types (only the parts read here)
// ---------------------------------------------------------------------------------------------------------------

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly Condition?: string;
  readonly DependsOn?: unknown;
}

export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown }; Condition?: string }>;
  readonly Parameters?: Record<string, { Type?: string; Default?: unknown }>;
  readonly Conditions?: Record<string, unknown>;
  readonly Mappings?: Record<string, Record<string, Record<string, unknown>>>;
}

/** One synthesized stack. */
export interface SynthesizedStack {
  /** CloudFormation stack name (used in local physical names). */
  readonly stackName: string;
  /** Construct path of the stack (e.g. `MlopsBatch-dev-Data` or `Stage/Stack`). */
  readonly path: string;
  readonly template: CfnTemplate;
}

/** All stacks of the app, in assembly order. */
export interface SynthesizedApp {
  readonly stacks: readonly SynthesizedStack[];
}

/** Builds the CDK app for a given context (contract: `bin/app.ts` exports `buildApp`). */
export type AppBuilder = (context: Record<string, unknown>) => App;

export interface SynthOptions {
  /** Context on top of `cdk.json`'s (e.g. `{ env: 'dev' }`). */
  readonly context?: Record<string, unknown>;
  /** Builds the app; default: `buildApp` exported by `bin/app.ts`. */
  readonly build?: AppBuilder;
  /** Read `cdk.json` context first. @default true */
  readonly useCdkJson?: boolean;
  /**
   * Run the app's policy-validation plugins (cdk-nag) during synthesis. Off by default: compliance is what `cdk synth`
   * and the infra tests enforce; the local runtime only needs the templates.
   * @default false
   */
  readonly validationPlugins?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Synthesis
// ---------------------------------------------------------------------------------------------------------------

function cdkJsonContext(): Record<string, unknown> {
  const raw = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return raw.context ?? {};
}

function defaultBuilder(): AppBuilder {
  // Loaded lazily so this module (and its unit tests with a fixture app) does not depend on the real app.
  const mod = require(path.join(REPO_ROOT, 'bin', 'app')) as Record<string, unknown>;
  if (typeof mod.buildApp === 'function') return mod.buildApp as AppBuilder;
  if (typeof mod.createApp === 'function') {
    const create = mod.createApp as (props: { context: Record<string, unknown> }) => { app: App };
    return (context) => create({ context }).app;
  }
  throw new Error(
    'bin/app.ts must export buildApp(context): App or createApp({ context }): { app } for the local runtime',
  );
}

interface StackLike {
  readonly stackName: string;
  readonly hierarchicalId: string;
  readonly template: unknown;
}
interface AssemblyLike {
  readonly stacksRecursively?: readonly StackLike[];
  readonly stacks: readonly StackLike[];
}

/**
 * Synthesize the app in-process: asset bundling skipped (`aws:cdk:bundling-stacks: []`), the builtin CloudFormation
 * validation off, so it takes seconds and needs no Docker or esbuild run.
 */
export function synthesizeApp(options: SynthOptions = {}): SynthesizedApp {
  const context: Record<string, unknown> = {
    ...(options.useCdkJson === false ? {} : cdkJsonContext()),
    // What the CDK CLI adds: construct paths in the metadata (used to find resources by path).
    'aws:cdk:enable-path-metadata': true,
    ...options.context,
    'aws:cdk:bundling-stacks': [],
  };
  const build = options.build ?? defaultBuilder();
  const previous = process.env.CDK_VALIDATION;
  const previousExitCode = process.exitCode;
  process.env.CDK_VALIDATION = 'false';
  try {
    const app = build(context);
    if (options.validationPlugins !== true) {
      // Stage keeps its plugins (Validations.of(app).addPlugins) in a private array; empty it when it is there.
      const plugins = (app as unknown as { _policyValidation?: unknown })._policyValidation;
      if (Array.isArray(plugins)) plugins.length = 0;
    }
    const assembly = app.synth() as unknown as AssemblyLike;
    const stacks = assembly.stacksRecursively ?? assembly.stacks;
    return {
      stacks: stacks.map((s) => ({
        stackName: s.stackName,
        path: s.hierarchicalId,
        template: s.template as CfnTemplate,
      })),
    };
  } finally {
    // Validation plugins (cdk-nag) set process.exitCode on findings; they are reported by `cdk synth`, not here.
    process.exitCode = previousExitCode;
    if (previous === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = previous;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Intrinsic resolution
// ---------------------------------------------------------------------------------------------------------------

export interface LocalEnvironment {
  /** @default process.env.AWS_REGION ?? 'us-east-1' */
  readonly region?: string;
  /** @default LOCAL_ACCOUNT */
  readonly account?: string;
}

/** Marker for `AWS::NoValue`: the property is removed. */
const NO_VALUE = Symbol('AWS::NoValue');

const NAME_PROPERTY: Record<string, string> = {
  'AWS::S3::Bucket': 'BucketName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::DynamoDB::GlobalTable': 'TableName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::StepFunctions::StateMachine': 'StateMachineName',
  'AWS::SageMaker::ModelPackageGroup': 'ModelPackageGroupName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::Events::Rule': 'Name',
  'AWS::Events::EventBus': 'Name',
  'AWS::Scheduler::Schedule': 'Name',
  'AWS::KMS::Alias': 'AliasName',
  'AWS::ElastiCache::ReplicationGroup': 'ReplicationGroupId',
  'AWS::SageMaker::Model': 'ModelName',
};

function shortHash(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** Deterministic local physical name: `<stack>-<logicalId>`, lowercased, [a-z0-9-], at most 63 chars. */
export function localPhysicalName(stackName: string, logicalId: string): string {
  const raw = `${stackName}-${logicalId}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  if (raw.length <= 63) return raw;
  return `${raw.slice(0, 54).replace(/-$/, '')}-${shortHash(raw)}`;
}

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
      const arg = obj[k];
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
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, unknown];
          const list = this.resolveInner(stack, parts);
          if (!Array.isArray(list)) throw new Error(`Fn::Join expects a list, got ${JSON.stringify(list)}`);
          return list
            .map((p) => {
              if (typeof p === 'string') return p;
              if (typeof p === 'number' || typeof p === 'boolean') return String(p);
              throw new Error(
                `Fn::Join in stack ${stack.stackName}: a part resolved to ${JSON.stringify(p)}, not a string`,
              );
            })
            .join(String(sep));
        }
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
        case 'Fn::ImportValue': {
          const name = String(this.resolveInner(stack, arg));
          const exp = this.exports.get(name);
          if (!exp) throw new Error(`Fn::ImportValue: no stack exports ${name}`);
          return this.resolveInner(exp.stack, exp.value);
        }
        case 'Fn::GetStackOutput': {
          // CDK's cross-stack reference (same account and region here): the named output of the producing stack.
          const a = this.resolveInner(stack, arg) as { StackName?: unknown; OutputName?: unknown };
          const producer = this.app.stacks.find((s) => s.stackName === a.StackName);
          const out = producer?.template.Outputs?.[String(a.OutputName)];
          if (!producer || !out)
            throw new Error(`Fn::GetStackOutput: no output ${String(a.OutputName)} in stack ${String(a.StackName)}`);
          return this.resolveInner(producer, out.Value);
        }
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
        case 'Fn::FindInMap': {
          const [map, k1, k2] = (arg as unknown[]).map((x) => this.resolveInner(stack, x));
          const found = stack.template.Mappings?.[String(map)]?.[String(k1)]?.[String(k2)];
          if (found === undefined)
            throw new Error(`Fn::FindInMap: ${String(map)}.${String(k1)}.${String(k2)} not found`);
          return this.resolveInner(stack, found);
        }
        case 'Fn::GetAZs':
          return ['a', 'b', 'c'].map((s) => `${this.region}${s}`);
        case 'Fn::Base64':
          return Buffer.from(String(this.resolveInner(stack, arg))).toString('base64');
        default:
          if (k.startsWith('Fn::'))
            throw new Error(`Unsupported intrinsic ${k} in stack ${stack.stackName}: ${JSON.stringify(arg)}`);
          break;
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      const r = this.resolveInner(stack, v);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
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

// ---------------------------------------------------------------------------------------------------------------
// State machine definitions
// ---------------------------------------------------------------------------------------------------------------

/** Amazon States Language definition (JSONPath), as parsed JSON. */
export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Record<string, Record<string, unknown>>;
  readonly Comment?: string;
  readonly TimeoutSeconds?: number;
  readonly [key: string]: unknown;
}

export interface LocatedStateMachine {
  readonly stackName: string;
  readonly logicalId: string;
  readonly constructPath: string | undefined;
  /** Local physical name and ARN. */
  readonly name: string;
  readonly arn: string;
  readonly definition: AslDefinition;
}

function asApp(source: CfnTemplate | SynthesizedStack | SynthesizedApp): SynthesizedApp {
  if ('stacks' in source && Array.isArray(source.stacks)) return source as SynthesizedApp;
  if ('template' in source && 'stackName' in source) return { stacks: [source as SynthesizedStack] };
  return { stacks: [{ stackName: 'Stack', path: 'Stack', template: source as CfnTemplate }] };
}

function constructPathOf(resource: CfnResource): string | undefined {
  const p = resource.Metadata?.['aws:cdk:path'];
  return typeof p === 'string' ? p : undefined;
}

/**
 * Find the state machines whose logical id starts with `idOrPathPrefix`, or whose `aws:cdk:path` metadata starts with
 * it (after the stack path) or contains `/<idOrPathPrefix>/`, and resolve their definitions.
 */
export function findStateMachines(
  source: CfnTemplate | SynthesizedStack | SynthesizedApp,
  idOrPathPrefix: string,
  env: LocalEnvironment = {},
): LocatedStateMachine[] {
  const app = asApp(source);
  const resolver = new TemplateResolver(app, env);
  const found: LocatedStateMachine[] = [];
  for (const { stack, logicalId, resource } of resolver.resourcesOfType('AWS::StepFunctions::StateMachine')) {
    const cpath = constructPathOf(resource);
    const matches =
      logicalId.startsWith(idOrPathPrefix) ||
      (cpath !== undefined &&
        (cpath.startsWith(idOrPathPrefix) ||
          cpath.startsWith(`${stack.path}/${idOrPathPrefix}`) ||
          cpath.includes(`/${idOrPathPrefix}/`)));
    if (!matches) continue;
    found.push({
      stackName: stack.stackName,
      logicalId,
      constructPath: cpath,
      name: resolver.physicalName(stack, logicalId),
      arn: String(resolver.ref(stack, logicalId)),
      definition: definitionOf(resolver, stack, logicalId, resource),
    });
  }
  return found;
}

function definitionOf(
  resolver: TemplateResolver,
  stack: SynthesizedStack,
  logicalId: string,
  resource: CfnResource,
): AslDefinition {
  const props = resource.Properties ?? {};
  let text: string;
  if (props.Definition !== undefined) {
    text = JSON.stringify(resolver.resolve(stack, props.Definition));
  } else if (props.DefinitionString !== undefined) {
    text = resolver.resolveString(stack, props.DefinitionString, `${stack.stackName}/${logicalId}.DefinitionString`);
  } else {
    throw new Error(
      `State machine ${logicalId} in ${stack.stackName} has no inline definition (DefinitionS3Location is not supported locally)`,
    );
  }
  const subs = resolver.resolve(stack, props.DefinitionSubstitutions ?? {}) as Record<string, unknown>;
  text = text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (m, key: string) => (key in subs ? String(subs[key]) : m));
  try {
    return JSON.parse(text) as AslDefinition;
  } catch (e) {
    throw new Error(`State machine ${logicalId}: the resolved definition is not JSON: ${(e as Error).message}`);
  }
}

/**
 * The resolved ASL definition of exactly one state machine, found by logical id prefix or construct path prefix.
 *
 * @param source one template, one synthesized stack, or the whole synthesized app (needed for cross-stack imports)
 * @throws Error when none or several state machines match
 */
export function extractDefinition(
  source: CfnTemplate | SynthesizedStack | SynthesizedApp,
  idOrPathPrefix: string,
  env: LocalEnvironment = {},
): AslDefinition {
  const found = findStateMachines(source, idOrPathPrefix, env);
  if (found.length === 1) return found[0]!.definition;
  const app = asApp(source);
  const all = new TemplateResolver(app, env)
    .resourcesOfType('AWS::StepFunctions::StateMachine')
    .map((r) => `${r.stack.stackName}/${r.logicalId}`);
  if (found.length === 0) {
    throw new Error(`No state machine matches "${idOrPathPrefix}"; state machines: ${all.join(', ') || '(none)'}`);
  }
  throw new Error(
    `"${idOrPathPrefix}" matches ${found.length} state machines (${found.map((f) => f.logicalId).join(', ')}); be more specific`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Resources the local runtime provisions or runs
// ---------------------------------------------------------------------------------------------------------------

/** A Lambda function as the local runner needs it. */
export interface LocalFunction {
  readonly stackName: string;
  readonly logicalId: string;
  readonly constructPath: string | undefined;
  readonly name: string;
  readonly arn: string;
  /** Handler module path relative to the repository root (`mlops:entry` metadata), e.g. `lambdas/functions/arrival/handler.ts`. */
  readonly entry: string | undefined;
  /** Exported handler function name (from the `Handler` property, e.g. `index.handler` → `handler`). */
  readonly handlerExport: string;
  /** Environment with every intrinsic resolved to local values. */
  readonly environment: Record<string, string>;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
}

export interface LocalBucket {
  readonly stackName: string;
  readonly logicalId: string;
  readonly constructPath: string | undefined;
  readonly name: string;
  readonly versioned: boolean;
}

export interface LocalTable {
  readonly stackName: string;
  readonly logicalId: string;
  readonly constructPath: string | undefined;
  readonly name: string;
  /** The resource's properties with intrinsics resolved (KeySchema, AttributeDefinitions, GlobalSecondaryIndexes…). */
  readonly properties: Record<string, unknown>;
}

export interface LocalTopic {
  readonly stackName: string;
  readonly logicalId: string;
  readonly constructPath: string | undefined;
  readonly name: string;
  readonly arn: string;
}

export interface LocalModelPackageGroup {
  readonly stackName: string;
  readonly logicalId: string;
  readonly constructPath: string | undefined;
  readonly name: string;
  readonly arn: string;
  readonly description: string | undefined;
}

export interface LocalResources {
  readonly region: string;
  readonly account: string;
  readonly buckets: readonly LocalBucket[];
  readonly tables: readonly LocalTable[];
  readonly topics: readonly LocalTopic[];
  readonly modelPackageGroups: readonly LocalModelPackageGroup[];
  /** Keyed by logical id (unique across stacks is assumed; a clash keeps both as `<stack>/<logicalId>`). */
  readonly functions: Readonly<Record<string, LocalFunction>>;
  readonly stateMachines: readonly LocatedStateMachine[];
  /** Outputs of every stack, resolved (`<stackName>.<outputId>` → value). */
  readonly outputs: Readonly<Record<string, unknown>>;
}

function stringEnv(vars: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (vars && typeof vars === 'object') {
    for (const [k, v] of Object.entries(vars as Record<string, unknown>)) {
      if (v === undefined || v === null) continue;
      out[k] = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
    }
  }
  return out;
}

/**
 * Physical local names of everything the local runtime creates or runs, read from the synthesized templates.
 */
export function resolveResources(
  source: SynthesizedApp | SynthesizedStack | CfnTemplate,
  env: LocalEnvironment = {},
): LocalResources {
  const app = asApp(source);
  const r = new TemplateResolver(app, env);

  const buckets = r.resourcesOfType('AWS::S3::Bucket').map(({ stack, logicalId, resource }) => {
    const versioning = r.resolve(stack, resource.Properties?.VersioningConfiguration) as
      | { Status?: string }
      | undefined;
    return {
      stackName: stack.stackName,
      logicalId,
      constructPath: constructPathOf(resource),
      name: r.physicalName(stack, logicalId),
      versioned: versioning?.Status === 'Enabled',
    };
  });

  const tables = [...r.resourcesOfType('AWS::DynamoDB::Table'), ...r.resourcesOfType('AWS::DynamoDB::GlobalTable')].map(
    ({ stack, logicalId, resource }) => ({
      stackName: stack.stackName,
      logicalId,
      constructPath: constructPathOf(resource),
      name: r.physicalName(stack, logicalId),
      properties: (r.resolve(stack, resource.Properties ?? {}) ?? {}) as Record<string, unknown>,
    }),
  );

  const topics = r.resourcesOfType('AWS::SNS::Topic').map(({ stack, logicalId, resource }) => ({
    stackName: stack.stackName,
    logicalId,
    constructPath: constructPathOf(resource),
    name: r.physicalName(stack, logicalId),
    arn: String(r.ref(stack, logicalId)),
  }));

  const modelPackageGroups = r
    .resourcesOfType('AWS::SageMaker::ModelPackageGroup')
    .map(({ stack, logicalId, resource }) => {
      const d = r.resolve(stack, resource.Properties?.ModelPackageGroupDescription);
      return {
        stackName: stack.stackName,
        logicalId,
        constructPath: constructPathOf(resource),
        name: r.physicalName(stack, logicalId),
        arn: String(r.ref(stack, logicalId)),
        description: typeof d === 'string' ? d : undefined,
      };
    });

  const functions: Record<string, LocalFunction> = {};
  for (const { stack, logicalId, resource } of r.resourcesOfType('AWS::Lambda::Function')) {
    const props = resource.Properties ?? {};
    const entry = resource.Metadata?.['mlops:entry'];
    const handler = typeof props.Handler === 'string' ? props.Handler : 'index.handler';
    const envVars = r.resolve(stack, (props.Environment as { Variables?: unknown } | undefined)?.Variables);
    const fn: LocalFunction = {
      stackName: stack.stackName,
      logicalId,
      constructPath: constructPathOf(resource),
      name: r.physicalName(stack, logicalId),
      arn: String(r.getAtt(stack, logicalId, 'Arn')),
      entry: typeof entry === 'string' ? entry : undefined,
      handlerExport: handler.slice(handler.lastIndexOf('.') + 1) || 'handler',
      environment: stringEnv(envVars),
      timeoutSeconds: typeof props.Timeout === 'number' ? props.Timeout : 3,
      memorySize: typeof props.MemorySize === 'number' ? props.MemorySize : 128,
    };
    const key = functions[logicalId] ? `${stack.stackName}/${logicalId}` : logicalId;
    functions[key] = fn;
  }

  const stateMachines = r.resourcesOfType('AWS::StepFunctions::StateMachine').map(({ stack, logicalId, resource }) => ({
    stackName: stack.stackName,
    logicalId,
    constructPath: constructPathOf(resource),
    name: r.physicalName(stack, logicalId),
    arn: String(r.ref(stack, logicalId)),
    definition: definitionOf(r, stack, logicalId, resource),
  }));

  const outputs: Record<string, unknown> = {};
  for (const stack of app.stacks) {
    for (const [id, out] of Object.entries(stack.template.Outputs ?? {})) {
      if (out.Condition && !r.condition(stack, out.Condition)) continue;
      outputs[`${stack.stackName}.${id}`] = r.resolve(stack, out.Value);
    }
  }

  return {
    region: r.region,
    account: r.account,
    buckets,
    tables,
    topics,
    modelPackageGroups,
    functions,
    stateMachines,
    outputs,
  };
}

/**
 * Find the one resource among `list` whose construct path or logical id contains `hint` (case-insensitive).
 * @throws Error naming the candidates when none or several match
 */
export function pick<T extends { logicalId: string; constructPath: string | undefined }>(
  list: readonly T[],
  hint: string,
  what: string,
): T {
  const h = hint.toLowerCase();
  const matches = list.filter(
    (x) => x.logicalId.toLowerCase().includes(h) || (x.constructPath ?? '').toLowerCase().includes(h),
  );
  if (matches.length === 1) return matches[0]!;
  const names = list.map((x) => x.constructPath ?? x.logicalId).join(', ') || '(none)';
  if (matches.length === 0) throw new Error(`No ${what} matches "${hint}"; found: ${names}`);
  throw new Error(`Several ${what}s match "${hint}": ${matches.map((x) => x.constructPath ?? x.logicalId).join(', ')}`);
}
