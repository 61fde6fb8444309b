import { ValidationError } from '../../../contracts/errors';
import { loadDefaultContract } from '../../../lambdas/data/contract';
import {
  buildPreprocessingSpec,
  encodedWidth,
  encodeInto,
  encodeRow,
  loadPreprocessingSpec,
} from '../../../lambdas/data/encoder';
import { StatsAccumulator } from '../../../lambdas/data/stats';
import type { ParsedRow } from '../../../lambdas/data/validator';

const contract = loadDefaultContract();
const row = (values: ParsedRow['values']): ParsedRow => ({
  line: 2,
  entityId: 'c',
  asOf: '2026-11-01',
  label: 0,
  values,
});

function trainedSpec() {
  const acc = new StatsAccumulator(contract);
  acc.add(row([10, 50, 500, 0, 10, 1, 'basic', 'north']));
  acc.add(row([20, 70, null, 2, 30, 0, 'premium', null]));
  acc.add(row([30, 90, 1500, 4, 50, 1, 'standard', 'west']));
  return buildPreprocessingSpec(contract, acc.finish(), 'run-1');
}

describe('preprocessing spec and encoder', () => {
  it('orders columns by contract, one-hot in category order, indicator after nullable numerics', () => {
    const spec = trainedSpec();
    expect(spec.columns).toEqual([
      'tenure_months',
      'monthly_charges',
      'total_charges',
      'total_charges_is_null',
      'support_tickets_90d',
      'logins_30d',
      'has_autopay',
      'plan=basic',
      'plan=standard',
      'plan=premium',
      'region=north',
      'region=south',
      'region=east',
      'region=west',
    ]);
    expect(encodedWidth(spec)).toBe(14);
    expect(spec.features[2]).toEqual({ name: 'total_charges', type: 'number', impute: 1000, nullIndicator: true });
    expect(spec.features[0]).toEqual({ name: 'tenure_months', type: 'integer', impute: 20, nullIndicator: false });
    expect(spec.contractVersion).toBe(contract.version);
    expect(spec.runId).toBe('run-1');
  });

  it('encodes values, imputes the training mean with an indicator, zeros for a null category', () => {
    const spec = trainedSpec();
    expect(encodeRow(spec, row([12, 49.5, 594, 1, 20, 1, 'standard', 'east']))).toEqual([
      12, 49.5, 594, 0, 1, 20, 1, 0, 1, 0, 0, 0, 1, 0,
    ]);
    expect(encodeRow(spec, row([0, 0, null, 0, 0, 0, 'premium', null]))).toEqual([
      0, 0, 1000, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0,
    ]);
  });

  it('refuses an unknown category or a non-number', () => {
    const spec = trainedSpec();
    expect(() => encodeRow(spec, row([1, 1, 1, 1, 1, 1, 'gold', null]))).toThrow(ValidationError);
    expect(() => encodeRow(spec, row([1, 1, 1, 1, 1, 1, 'gold', null]))).toThrow(
      /plan="gold": not one of basic\|standard\|premium/,
    );
    expect(() => encodeRow(spec, row(['1', 1, 1, 1, 1, 1, 'basic', null]))).toThrow(/expected a number/);
  });

  it('round trip: the saved JSON loads, validates and encodes identically', () => {
    const spec = trainedSpec();
    const loaded = loadPreprocessingSpec(JSON.stringify(spec), 's3://a/training/run-1/preprocessing.json');
    expect(loaded).toEqual(spec);
    const values: ParsedRow['values'] = [7, 33.3, null, 3, 9, 0, 'basic', 'south'];
    expect(encodeRow(loaded, row(values))).toEqual(encodeRow(spec, row(values)));
    const out = new Float64Array(20);
    expect(encodeInto(loaded, values, out, 3)).toBe(17);
    expect(Array.from(out.subarray(3, 17))).toEqual(encodeRow(spec, row(values)));
  });

  it('rejects a broken spec naming the source and path', () => {
    const spec = JSON.parse(JSON.stringify(trainedSpec()));
    spec.features[0].impute = 'x';
    expect(() => loadPreprocessingSpec(spec, 'spec.json')).toThrow(/spec.json is invalid: \$\.features\[0\]\.impute/);
    const spec2 = JSON.parse(JSON.stringify(trainedSpec()));
    spec2.columns.pop();
    expect(() => loadPreprocessingSpec(spec2, 'spec.json')).toThrow(/13 columns listed but the features encode to 14/);
    const spec3 = JSON.parse(JSON.stringify(trainedSpec()));
    spec3.contract.features[0].max = -1;
    expect(() => loadPreprocessingSpec(spec3, 'spec.json')).toThrow(
      /spec.json \(\$\.contract\).*\$\.features\[0\]\.max/,
    );
    expect(() => loadPreprocessingSpec('{', 'spec.json')).toThrow(/not valid JSON/);
  });

  it('a feature without any training value imputes the middle of its range', () => {
    const acc = new StatsAccumulator(contract);
    acc.add(row([10, 50, null, 0, 10, 1, 'basic', 'north']));
    const spec = buildPreprocessingSpec(contract, acc.finish(), 'r');
    expect(spec.features[2]).toMatchObject({ impute: 500_000 });
  });
});
