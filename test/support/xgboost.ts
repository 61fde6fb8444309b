/**
 * Independent check of a model artifact: the open-source xgboost package (the interpreter the stand-ins found,
 * /usr/bin/python3 with Debian's python3-xgboost) loads `xgboost-model` from a model.tar.gz with
 * `xgboost.Booster(model_file=…)` and predicts headerless feature rows — the way a SageMaker XGBoost model is used
 * outside SageMaker.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { requireXgboost } from '../../local/standins/xgboost';

const SCRIPT = `
import sys, tarfile, xgboost
with tarfile.open(sys.argv[1]) as t:
    t.extract("xgboost-model", sys.argv[3])
booster = xgboost.Booster(model_file=sys.argv[3] + "/xgboost-model")
for p in booster.predict(xgboost.DMatrix(sys.argv[2] + "?format=csv")):
    print(repr(float(p)))
`;

/** Predictions of the archive's booster for `rows` (CSV lines of features), and the archive's member names. */
export function boosterPredict(archive: Buffer, rows: readonly string[]): { scores: number[]; members: string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'booster-check-'));
  try {
    writeFileSync(path.join(dir, 'model.tar.gz'), archive);
    writeFileSync(path.join(dir, 'rows.csv'), `${rows.join('\n')}\n`);
    writeFileSync(path.join(dir, 'check.py'), SCRIPT);
    const out = execFileSync(
      requireXgboost().python,
      [path.join(dir, 'check.py'), path.join(dir, 'model.tar.gz'), path.join(dir, 'rows.csv'), dir],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const members = execFileSync(
      requireXgboost().python,
      [
        '-c',
        'import sys,tarfile; print(",".join(tarfile.open(sys.argv[1]).getnames()))',
        path.join(dir, 'model.tar.gz'),
      ],
      { encoding: 'utf8' },
    );
    return { scores: out.split('\n').filter(Boolean).map(Number), members: members.trim().split(',') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
