/**
 * The IAM recorder never ships: every handler bundled as ProjectFunction bundles it (esbuild, CJS, minified, the
 * AWS SDK external) contains nothing of local/ (the recorder, the call context) nor the AGPL simulator packages.
 */
import { readdirSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const entries = readdirSync(path.join(ROOT, 'lambdas', 'functions')).map((f) =>
  path.join('lambdas', 'functions', f, 'handler.ts'),
);
/** String literals of local/iam that survive minification. */
const MARKERS = ['mlopsIamRecorder', 'no IAM rule for', 'IAM recording'];

jest.setTimeout(120_000);

it('no handler bundle contains the IAM recorder or the simulator', async () => {
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: entries,
    outdir: 'bundles',
    bundle: true,
    platform: 'node',
    format: 'cjs',
    minify: true,
    external: ['@aws-sdk/*'],
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  expect(Object.keys(out.metafile.outputs).filter((o) => o.endsWith('.js'))).toHaveLength(entries.length);
  const inputs = Object.keys(out.metafile.inputs);
  expect(inputs.filter((i) => i.startsWith('lambdas/functions/')).length).toBeGreaterThanOrEqual(entries.length);
  expect(inputs.filter((i) => /^(local|test|lib|cli)\/|@cloud-copilot/.test(i))).toEqual([]);
  const found = out.outputFiles.flatMap((f) =>
    MARKERS.filter((m) => f.text.includes(m)).map((m) => `${path.relative(ROOT, f.path)}: ${m}`),
  );
  expect(found).toEqual([]);
});
