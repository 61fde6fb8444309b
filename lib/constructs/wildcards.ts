import type { IConstruct } from 'constructs';
import { acknowledge, iam5ResourceId } from '../nag';

/**
 * Acknowledge the cdk-nag IAM5 finding of each wildcard resource on `scope` with one written reason.
 *
 * The finding id is computed after the app's references are resolved (node validations run after that step): a
 * resource built from another stack's value (a table ARN, a function ARN) renders as that stack's export only then,
 * so the id matches what cdk-nag reports. Stack-local resources render the same either way.
 */
export function acknowledgeWildcards(scope: IConstruct, reason: string, ...resources: readonly string[]): void {
  let done = false;
  scope.node.addValidation({
    validate: () => {
      if (!done) {
        acknowledge(scope, ...resources.map((r) => ({ id: iam5ResourceId(scope, r), reason })));
        done = true;
      }
      return [];
    },
  });
}
