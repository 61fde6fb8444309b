/** biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings under test */
import { TemplateResolver } from '../../../local/runtime/intrinsics';
import { localPhysicalName } from '../../../local/runtime/names';

describe('TemplateResolver', () => {
  const stack = {
    stackName: 'S',
    path: 'S',
    template: {
      Resources: {
        Bkt: {
          Type: 'AWS::S3::Bucket',
          Properties: { BucketName: { 'Fn::Sub': 'data-${AWS::AccountId}-${AWS::Region}' } },
        },
      },
      Conditions: { IsUsEast: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] } },
      Mappings: { M: { a: { b: 'mapped' } } },
    },
  };
  const r = new TemplateResolver({ stacks: [stack] }, { region: 'eu-west-1', account: '111122223333' });

  it.each([
    [{ Ref: 'Bkt' }, 'data-111122223333-eu-west-1'],
    [{ 'Fn::GetAtt': ['Bkt', 'Arn'] }, 'arn:aws:s3:::data-111122223333-eu-west-1'],
    [
      { 'Fn::Sub': ['${X}/${Bkt.Arn}/${!Literal}', { X: 'x' }] },
      'x/arn:aws:s3:::data-111122223333-eu-west-1/${Literal}',
    ],
    [
      { 'Fn::Join': ['-', ['a', { Ref: 'AWS::Partition' }, { 'Fn::Select': [1, { 'Fn::Split': [',', 'p,q'] }] }]] },
      'a-aws-q',
    ],
    [{ 'Fn::If': ['IsUsEast', 'yes', 'no'] }, 'no'],
    [{ 'Fn::FindInMap': ['M', 'a', 'b'] }, 'mapped'],
    [{ a: 1, b: { Ref: 'AWS::NoValue' } }, { a: 1 }],
  ])('resolves %j', (expr, expected) => {
    expect(r.resolve(stack, expr)).toEqual(expected);
  });

  it('resolves Fn::GetStackOutput to the producing stack output', () => {
    const producer = {
      stackName: 'P',
      path: 'P',
      template: { Resources: {}, Outputs: { O: { Value: { 'Fn::Join': ['', ['v-', { Ref: 'AWS::Region' }]] } } } },
    };
    const two = new TemplateResolver({ stacks: [stack, producer] }, { region: 'eu-west-1' });
    expect(
      two.resolve(stack, { 'Fn::GetStackOutput': { StackName: 'P', Region: { Ref: 'AWS::Region' }, OutputName: 'O' } }),
    ).toBe('v-eu-west-1');
    expect(() => two.resolve(stack, { 'Fn::GetStackOutput': { StackName: 'P', OutputName: 'X' } })).toThrow(
      /no output X in stack P/,
    );
  });

  it('names an unsupported intrinsic', () => {
    expect(() => r.resolve(stack, { 'Fn::Transform': {} })).toThrow(/Unsupported intrinsic Fn::Transform in stack S/);
  });

  it('fails clearly on an unknown reference', () => {
    expect(() => r.resolve(stack, { Ref: 'Missing' })).toThrow(
      /Ref to unknown resource or parameter Missing in stack S/,
    );
  });

  it('limits generated names to 63 valid characters', () => {
    const n = localPhysicalName(
      'A-Very-Long-Stack-Name-For-Testing-Purposes',
      'AndAnEvenLongerLogicalIdABCDEF0123456789',
    );
    expect(n.length).toBeLessThanOrEqual(63);
    expect(n).toMatch(/^[a-z0-9-]+$/);
  });
});
