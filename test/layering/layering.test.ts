import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// The layering rules of .dependency-cruiser.cjs, run (as `npm run lint` does) on a small throw-away tree:
// each rule must fail on the import it forbids and stay quiet on the imports the layout allows.
const REPO = path.resolve(__dirname, '..', '..');
const DEPCRUISE = path.join(REPO, 'node_modules', '.bin', 'depcruise');

function cruise(files: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'layering-'));
  try {
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'commonjs' } }));
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    }
    const roots = [...new Set(Object.keys(files).map((f) => f.split('/')[0]!))];
    const res = spawnSync(DEPCRUISE, [...roots, '--config', path.join(REPO, '.dependency-cruiser.cjs')], {
      cwd: dir,
      encoding: 'utf8',
    });
    return { status: res.status, output: `${res.stdout}${res.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ALLOWED: Record<string, string> = {
  'contracts/errors.ts': 'export class E extends Error {}\n',
  'lambdas/platform/s3.ts': "import { E } from '../../contracts/errors';\nexport const s3 = E;\n",
  'lambdas/domain/ledger.ts': "import { s3 } from '../platform/s3';\nexport const ledger = s3;\n",
  'lambdas/functions/a/core.ts': "import { ledger } from '../../domain/ledger';\nexport const a = ledger;\n",
  'lib/stack.ts': "import { E } from '../contracts/errors';\nexport const stack = E;\n",
  'local/runtime/run.ts': "import { a } from '../../lambdas/functions/a/core';\nexport const run = a;\n",
  'cli/target.ts': "import { run } from '../local/runtime/run';\nexport const target = run;\n",
};

describe('layering rules (.dependency-cruiser.cjs)', () => {
  it('accepts imports that flow one way', () => {
    const { status, output } = cruise(ALLOWED);
    expect(output).toContain('no dependency violations found');
    expect(status).toBe(0);
  });

  // One tree holding one violation per rule (a depcruise run costs seconds): each must be reported by name.
  const VIOLATIONS: [rule: string, file: string, text: string][] = [
    ['contracts-import-nothing-of-ours', 'contracts/bad.ts', "import '../lambdas/platform/s3';\n"],
    ['lambdas-never-import-infra-or-tools', 'lambdas/platform/bad-infra.ts', "import '../../lib/stack';\n"],
    ['lib-reaches-lambdas-only-through-contracts', 'lib/bad.ts', "import '../lambdas/domain/ledger';\n"],
    ['platform-is-the-bottom-of-lambdas', 'lambdas/platform/bad-domain.ts', "import '../domain/ledger';\n"],
    ['domain-and-data-never-import-functions', 'lambdas/domain/bad.ts', "import '../functions/a/core';\n"],
    ['functions-are-independent', 'lambdas/functions/b/core.ts', "import '../a/core';\n"],
    ['cli-reaches-local-only-through-runtime', 'cli/bad.ts', "import '../local/demo/run';\n"],
    ['local-runtime-below-demo-and-cli', 'local/runtime/bad.ts', "import '../../cli/target';\n"],
    ['no-circular', 'lambdas/data/cycle-a.ts', "import './cycle-b';\nexport const a = 1;\n"],
  ];

  it('fails on each kind of violation, naming the rule and the importing file', () => {
    const files: Record<string, string> = {
      ...ALLOWED,
      'local/demo/run.ts': 'export const demo = 1;\n',
      'lambdas/data/cycle-b.ts': "import './cycle-a';\nexport const b = 1;\n",
    };
    for (const [, file, text] of VIOLATIONS) files[file] = text;
    const { status, output } = cruise(files);
    for (const [rule, file] of VIOLATIONS) expect(output).toMatch(new RegExp(`error ${rule}: ${file}`));
    expect(status).not.toBe(0);
  });
});
