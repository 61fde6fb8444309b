/**
 * What the local runtime provisions or runs, read from the synthesized templates: state machine definitions, the
 * physical names of buckets, table, topics and model package group, each Lambda function's handler module
 * (`mlops:entry` metadata) and resolved environment, and the stack outputs.
 */
import { type LocalEnvironment, TemplateResolver } from './intrinsics';
import type { CfnResource, CfnTemplate, SynthesizedApp, SynthesizedStack } from './synth';

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
  return {
    region: r.region,
    account: r.account,
    buckets: buckets(r),
    tables: tables(r),
    topics: r.resourcesOfType('AWS::SNS::Topic').map(({ stack, logicalId, resource }) => ({
      ...located(r, stack, logicalId, resource),
      arn: String(r.ref(stack, logicalId)),
    })),
    modelPackageGroups: modelPackageGroups(r),
    functions: functions(r),
    stateMachines: r.resourcesOfType('AWS::StepFunctions::StateMachine').map(({ stack, logicalId, resource }) => ({
      ...located(r, stack, logicalId, resource),
      arn: String(r.ref(stack, logicalId)),
      definition: definitionOf(r, stack, logicalId, resource),
    })),
    outputs: outputs(r, app),
  };
}

/** Where a resource is and what it is called locally: the fields every inventory entry starts with. */
function located(r: TemplateResolver, stack: SynthesizedStack, logicalId: string, resource: CfnResource) {
  return {
    stackName: stack.stackName,
    logicalId,
    constructPath: constructPathOf(resource),
    name: r.physicalName(stack, logicalId),
  };
}

function buckets(r: TemplateResolver): LocalBucket[] {
  return r.resourcesOfType('AWS::S3::Bucket').map(({ stack, logicalId, resource }) => {
    const versioning = r.resolve(stack, resource.Properties?.VersioningConfiguration) as
      | { Status?: string }
      | undefined;
    return { ...located(r, stack, logicalId, resource), versioned: versioning?.Status === 'Enabled' };
  });
}

function tables(r: TemplateResolver): LocalTable[] {
  return [...r.resourcesOfType('AWS::DynamoDB::Table'), ...r.resourcesOfType('AWS::DynamoDB::GlobalTable')].map(
    ({ stack, logicalId, resource }) => ({
      ...located(r, stack, logicalId, resource),
      properties: (r.resolve(stack, resource.Properties ?? {}) ?? {}) as Record<string, unknown>,
    }),
  );
}

function modelPackageGroups(r: TemplateResolver): LocalModelPackageGroup[] {
  return r.resourcesOfType('AWS::SageMaker::ModelPackageGroup').map(({ stack, logicalId, resource }) => {
    const d = r.resolve(stack, resource.Properties?.ModelPackageGroupDescription);
    return {
      ...located(r, stack, logicalId, resource),
      arn: String(r.ref(stack, logicalId)),
      description: typeof d === 'string' ? d : undefined,
    };
  });
}

function functions(r: TemplateResolver): Record<string, LocalFunction> {
  const out: Record<string, LocalFunction> = {};
  for (const { stack, logicalId, resource } of r.resourcesOfType('AWS::Lambda::Function')) {
    const props = resource.Properties ?? {};
    const entry = resource.Metadata?.['mlops:entry'];
    const handler = typeof props.Handler === 'string' ? props.Handler : 'index.handler';
    const envVars = r.resolve(stack, (props.Environment as { Variables?: unknown } | undefined)?.Variables);
    const fn: LocalFunction = {
      ...located(r, stack, logicalId, resource),
      arn: String(r.getAtt(stack, logicalId, 'Arn')),
      entry: typeof entry === 'string' ? entry : undefined,
      handlerExport: handler.slice(handler.lastIndexOf('.') + 1) || 'handler',
      environment: stringEnv(envVars),
      timeoutSeconds: typeof props.Timeout === 'number' ? props.Timeout : 3,
      memorySize: typeof props.MemorySize === 'number' ? props.MemorySize : 128,
    };
    const key = out[logicalId] ? `${stack.stackName}/${logicalId}` : logicalId;
    out[key] = fn;
  }
  return out;
}

function outputs(r: TemplateResolver, app: SynthesizedApp): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const stack of app.stacks) {
    for (const [id, o] of Object.entries(stack.template.Outputs ?? {})) {
      if (o.Condition && !r.condition(stack, o.Condition)) continue;
      out[`${stack.stackName}.${id}`] = r.resolve(stack, o.Value);
    }
  }
  return out;
}
