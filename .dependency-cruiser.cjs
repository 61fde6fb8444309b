/**
 * Layering rules, checked by `npm run lint` (depcruise). Imports flow one way:
 *   contracts ← lambdas/platform ← lambdas/{domain,data} ← lambdas/functions ← lib, local, cli, bin
 * contracts/ is the one home of what several rooms share (state names and payloads, S3 layout, table keys,
 * function environment, errors), so CDK, handlers, the local runtime and tests agree by construction.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle hides which module owns what; break it by moving the shared part down a layer.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'contracts-import-nothing-of-ours',
      severity: 'error',
      comment: 'contracts/ is imported by every room; it may import only packages and itself.',
      from: { path: '^contracts/' },
      to: { path: '^(lambdas|lib|local|cli|bin|bench|scripts|test)/' },
    },
    {
      name: 'lambdas-never-import-infra-or-tools',
      severity: 'error',
      comment: 'Function bundles must not pull in CDK, the local runtime or the CLI.',
      from: { path: '^lambdas/' },
      to: { path: '^(lib|local|cli|bin|bench|scripts|test)/' },
    },
    {
      name: 'lib-reaches-lambdas-only-through-contracts',
      severity: 'error',
      comment: 'CDK code shares names and payloads with handlers through contracts/, never by importing handler code.',
      from: { path: '^lib/' },
      to: { path: '^(lambdas|local|cli|bench|test)/' },
    },
    {
      name: 'platform-is-the-bottom-of-lambdas',
      severity: 'error',
      comment: 'SDK clients and S3/DynamoDB/Redis helpers know nothing of the domain, the data pipeline or a function.',
      from: { path: '^lambdas/platform/' },
      to: { path: '^lambdas/(domain|data|functions)/' },
    },
    {
      name: 'domain-and-data-never-import-functions',
      severity: 'error',
      comment: 'Functions compose domain and data; the reverse would tie shared code to one Lambda.',
      from: { path: '^lambdas/(domain|data)/' },
      to: { path: '^lambdas/functions/' },
    },
    {
      name: 'functions-are-independent',
      severity: 'error',
      comment: 'Each function is its own bundle; what two functions share belongs in domain, data or platform.',
      from: { path: '^lambdas/functions/([^/]+)/' },
      to: { path: '^lambdas/functions/', pathNot: '^lambdas/functions/$1/' },
    },
    {
      name: 'cli-reaches-local-only-through-runtime',
      severity: 'error',
      comment: 'The CLI runs local executions through local/runtime; the demo, stand-ins and services stay behind it.',
      from: { path: '^cli/' },
      to: { path: '^local/', pathNot: '^local/runtime/' },
    },
    {
      name: 'local-runtime-below-demo-and-cli',
      severity: 'error',
      comment: 'local/runtime is what the CLI may import; it must not depend on the demo or on the CLI.',
      from: { path: '^local/(runtime|standins|services)/' },
      to: { path: '^(local/demo|cli|bin)/' },
    },
    {
      name: 'no-test-code-in-the-product',
      severity: 'error',
      comment: 'Tests and benchmarks import the product, never the other way round.',
      from: { pathNot: '^(test|bench)/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|cdk\\.out|local-run)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
