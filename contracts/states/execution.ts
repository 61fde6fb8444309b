import { z } from 'zod';

/**
 * Which execution a step runs in: `$$.Execution.Id` (the execution ARN) and `$$.Execution.StartTime`. The run id
 * (the execution name) names a run; this names one execution of it. Step Functions never reuses an ARN, but the run
 * id is shared by both state machines and the local runtime can run one name twice, so the start time goes with it.
 * The run record keeps both (`executionArn`, `startedAt`) and the batch lock is held by {@link executionToken}: a
 * second execution under a used run id can neither take over the run record nor the first one's lock.
 */
export const ExecutionRefSchema = z.object({
  id: z.string().min(1),
  startTime: z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'an ISO timestamp ($$.Execution.StartTime)'),
});
export type ExecutionRef = z.infer<typeof ExecutionRefSchema>;

/** The one string that identifies an execution (lock holder). */
export const executionToken = (e: ExecutionRef): string => `${e.id}@${e.startTime}`;
