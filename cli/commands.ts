/**
 * The operator commands' cores, one module per command group (each takes a {@link Target} and returns plain data
 * that the command prints as a table or as JSON): models/approve/reject in cli/models.ts, runs in
 * cli/run-details.ts, train/batch in cli/run-start.ts, score/reconcile in cli/scores.ts. This module gathers them for
 * callers that want them all (the local demo); the CLI loads only the group a command needs.
 */
export { asUsageError, CliUsageError } from './errors';
export { describeLastChange, type ModelRow, models, parseVersion, type StatusChange, setStatus } from './models';
export { type RunDetails, type RunRow, runDetails, runs } from './run-details';
export { type ExecutionResult, startExecution } from './run-start';
export { reconcileObjects, type ScoreAnswer, score } from './scores';
export type { Target } from './target';
