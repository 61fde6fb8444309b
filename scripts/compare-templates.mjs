// Compare two `cdk synth -o DIR` outputs template by template, ignoring asset hashes (bundles change when files
// move). Used to show that a refactor leaves the deployed resources unchanged:
//   npx cdk synth --quiet -c env=dev -o /tmp/before/dev   (on the old commit; again on the new one)
//   node scripts/compare-templates.mjs /tmp/before/dev /tmp/after/dev
// Exit 1 and /tmp/na-<template>, /tmp/nb-<template> (normalized) for each template that differs.
import fs from 'node:fs';
import path from 'node:path';

const [a, b] = process.argv.slice(2);
const norm = (t) => t.replace(/[0-9a-f]{64}/g, 'HASH');
let diffs = 0;
for (const f of fs.readdirSync(a).filter((x) => x.endsWith('.template.json'))) {
  const x = norm(fs.readFileSync(path.join(a, f), 'utf8'));
  const y = norm(fs.readFileSync(path.join(b, f), 'utf8'));
  if (x !== y) {
    diffs++;
    fs.writeFileSync(`/tmp/na-${f}`, x);
    fs.writeFileSync(`/tmp/nb-${f}`, y);
    console.log('DIFF', f);
  } else console.log('same', f);
}
process.exit(diffs ? 1 : 0);
