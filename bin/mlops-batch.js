#!/usr/bin/env node
// Launcher for `npx mlops-batch`: runs the TypeScript CLI through tsx (a dev dependency installed by `npm ci`).
require('tsx/cjs');
const { main } = require('./mlops-batch.ts');
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
