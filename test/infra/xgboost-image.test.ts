import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { XGBOOST_REGISTRY_ACCOUNTS, xgboostImageUri, xgboostImageUriForRegion } from '../../lib/xgboost-image';

describe('xgboost image', () => {
  it('builds the regional URI from the SDK registry map', () => {
    expect(xgboostImageUriForRegion('eu-west-1')).toBe(
      '141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1',
    );
    expect(xgboostImageUriForRegion('us-east-1')).toBe(
      '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
    );
    expect(xgboostImageUriForRegion('cn-north-1')).toBe(
      '450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:1.7-1',
    );
  });

  it('names the region when it is unknown', () => {
    expect(() => xgboostImageUriForRegion('xx-nowhere-9')).toThrow(/xx-nowhere-9.*known regions: af-south-1/);
  });

  it('every account is 12 digits', () => {
    for (const [region, account] of Object.entries(XGBOOST_REGISTRY_ACCOUNTS)) {
      expect(`${region}=${account}`).toMatch(/^[a-z]{2}(-gov|-iso[bf]?)?-[a-z]+-\d=\d{12}$/);
    }
  });

  it('returns a plain string for a stack with a concrete region', () => {
    const stack = new Stack(new App(), 'S', { env: { account: '111111111111', region: 'eu-central-1' } });
    expect(xgboostImageUri(stack)).toBe('492215442770.dkr.ecr.eu-central-1.amazonaws.com/sagemaker-xgboost:1.7-1');
  });

  it('uses one CfnMapping keyed by AWS::Region in an env-agnostic stack', () => {
    const stack = new Stack(new App(), 'S');
    const a = xgboostImageUri(stack);
    const b = xgboostImageUri(stack);
    new ssm.StringParameter(stack, 'P', { stringValue: a });
    new ssm.StringParameter(stack, 'Q', { stringValue: b });
    const t = Template.fromStack(stack);
    const mappings = t.toJSON().Mappings as Record<string, Record<string, { account: string }>>;
    const names = Object.keys(mappings);
    expect(names).toHaveLength(1);
    const mapping = mappings[names[0]!]!;
    expect(mapping['eu-west-1']).toEqual({ account: '141502667606' });
    expect(Object.keys(mapping)).toHaveLength(Object.keys(XGBOOST_REGISTRY_ACCOUNTS).length);
    t.hasResourceProperties('AWS::SSM::Parameter', {
      Value: {
        'Fn::Join': [
          '',
          [
            { 'Fn::FindInMap': [names[0], { Ref: 'AWS::Region' }, 'account'] },
            '.dkr.ecr.',
            { Ref: 'AWS::Region' },
            '.',
            { Ref: 'AWS::URLSuffix' },
            '/sagemaker-xgboost:1.7-1',
          ],
        ],
      },
    });
  });
});
