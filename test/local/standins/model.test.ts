import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { histogram, logloss, rocCurve } from '../../../local/standins/metrics';
import { fitModel, LOCAL_IMAGE_URI, packModel, predictProba, unpackModel } from '../../../local/standins/model';
import { createTarGz, readTarGz } from '../../../local/standins/tar';

describe('tar', () => {
  it('round-trips entries and is readable by the system tar', () => {
    const data = Buffer.from('x'.repeat(1300));
    const archive = createTarGz([
      { name: 'model.json', data },
      { name: 'empty.txt', data: Buffer.alloc(0) },
    ]);
    expect(readTarGz(archive)).toEqual([
      { name: 'model.json', data },
      { name: 'empty.txt', data: Buffer.alloc(0) },
    ]);
    const dir = mkdtempSync(path.join(tmpdir(), 'tar-test-'));
    writeFileSync(path.join(dir, 'model.tar.gz'), archive);
    expect(execFileSync('tar', ['-tzf', 'model.tar.gz'], { cwd: dir }).toString().split('\n').filter(Boolean)).toEqual([
      'model.json',
      'empty.txt',
    ]);
    execFileSync('tar', ['-xzf', 'model.tar.gz'], { cwd: dir });
    expect(readFileSync(path.join(dir, 'model.json'))).toEqual(data);
  });
});

describe('model', () => {
  const rows = Array.from({ length: 400 }, (_, i) => [i % 20, (i * 7) % 11]);
  const labels = rows.map((r) => (r[0]! + (r[1]! % 3) > 12 ? 1 : 0));

  it('packs, unpacks and predicts the same probabilities', () => {
    const m = fitModel(rows, labels);
    const again = unpackModel(packModel(m));
    expect(again.imageUri).toBe(LOCAL_IMAGE_URI);
    expect(predictProba(again, rows)).toEqual(predictProba(m, rows));
    const p = predictProba(m, [
      [0, 0],
      [19, 2],
    ]);
    expect(p[0]!).toBeLessThan(0.2);
    expect(p[1]!).toBeGreaterThan(0.8);
  });

  it('refuses labels that are not both 0 and 1', () => {
    expect(() =>
      fitModel(
        rows,
        rows.map(() => 1),
      ),
    ).toThrow(/labels must contain both 0 and 1; found 1/);
  });

  it('refuses an archive without model.json', () => {
    expect(() => unpackModel(createTarGz([{ name: 'xgboost-model', data: Buffer.from('x') }]), 's3://b/k')).toThrow(
      /s3:\/\/b\/k has no model.json: not a model trained by the local trainer/,
    );
  });
});

describe('metrics', () => {
  it('logloss matches the formula and clips', () => {
    expect(logloss([0.9, 0.2], [1, 0])).toBeCloseTo(-(Math.log(0.9) + Math.log(0.8)) / 2, 12);
    expect(Number.isFinite(logloss([0, 1], [1, 0]))).toBe(true);
  });
  it('rocCurve runs from (0,0) to (1,1) and is monotone', () => {
    const roc = rocCurve([0.1, 0.4, 0.35, 0.8, 0.8], [0, 0, 1, 1, 0]);
    expect(roc[0]).toEqual({ fpr: 0, tpr: 0 });
    expect(roc.at(-1)).toEqual({ fpr: 1, tpr: 1 });
    for (let i = 1; i < roc.length; i++) {
      expect(roc[i]!.fpr).toBeGreaterThanOrEqual(roc[i - 1]!.fpr);
      expect(roc[i]!.tpr).toBeGreaterThanOrEqual(roc[i - 1]!.tpr);
    }
  });
  it('histogram counts every value once', () => {
    expect(histogram([0, 0.05, 0.5, 0.99, 1], 10)).toEqual([2, 0, 0, 0, 0, 1, 0, 0, 0, 2]);
  });
});
