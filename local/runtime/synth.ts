/**
 * Synthesize the CDK app in-process and hand back each stack's CloudFormation template: what the local runtime reads
 * its resources from (local/runtime/inventory.ts) with every intrinsic resolved (local/runtime/intrinsics.ts).
 *
 * The templates are the single source of truth: nothing in the local runtime keeps a second list of resources.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { App } from 'aws-cdk-lib';

/** Repository root (this file lives in `<root>/local/runtime`). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

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
