import { Aws, CfnMapping, Fn, Stack, Token } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/**
 * ECR registry accounts of the SageMaker built-in XGBoost algorithm image (`sagemaker-xgboost`), per region.
 *
 * Source: the SageMaker Python SDK, `src/sagemaker/image_uri_config/xgboost.json`, versions `1.7-1` (identical for
 * the `training` and `inference` scopes). The same accounts serve the framework versions 0.90-1 … 2.1-0, so the map
 * is keyed by region only; {@link XGBOOST_VERSIONS} lists the versions it is valid for. To add a region or a version,
 * copy it from that file and extend the tests in `test/infra/xgboost-image.test.ts`.
 *
 * The image URI is `<account>.dkr.ecr.<region>.<url suffix>/sagemaker-xgboost:<version>`; the URL suffix is
 * `amazonaws.com`, `amazonaws.com.cn` in China, and the isolated partitions' own suffixes — CloudFormation's
 * `AWS::URLSuffix` gives the right one.
 */
export const XGBOOST_REGISTRY_ACCOUNTS: Readonly<Record<string, string>> = {
  'af-south-1': '510948584623',
  'ap-east-1': '651117190479',
  'ap-northeast-1': '354813040037',
  'ap-northeast-2': '366743142698',
  'ap-northeast-3': '867004704886',
  'ap-south-1': '720646828776',
  'ap-south-2': '628508329040',
  'ap-southeast-1': '121021644041',
  'ap-southeast-2': '783357654285',
  'ap-southeast-3': '951798379941',
  'ap-southeast-4': '106583098589',
  'ca-central-1': '341280168497',
  'ca-west-1': '190319476487',
  'cn-north-1': '450853457545',
  'cn-northwest-1': '451049120500',
  'eu-central-1': '492215442770',
  'eu-central-2': '680994064768',
  'eu-north-1': '662702820516',
  'eu-south-1': '978288397137',
  'eu-south-2': '104374241257',
  'eu-west-1': '141502667606',
  'eu-west-2': '764974769150',
  'eu-west-3': '659782779980',
  'il-central-1': '898809789911',
  'me-central-1': '272398656194',
  'me-south-1': '801668240914',
  'sa-east-1': '737474898029',
  'us-east-1': '683313688378',
  'us-east-2': '257758044811',
  'us-gov-east-1': '237065988967',
  'us-gov-west-1': '414596584902',
  'us-iso-east-1': '833128469047',
  'us-isob-east-1': '281123927165',
  'us-isof-east-1': '108575199400',
  'us-isof-south-1': '124985052026',
  'us-west-1': '746614075791',
  'us-west-2': '246618743249',
};

/** Framework versions served by {@link XGBOOST_REGISTRY_ACCOUNTS}. */
export const XGBOOST_VERSIONS = ['1.7-1'] as const;
export type XgboostVersion = (typeof XGBOOST_VERSIONS)[number];

const REPOSITORY = 'sagemaker-xgboost';

function urlSuffix(region: string): string {
  if (region.startsWith('cn-')) return 'amazonaws.com.cn';
  if (region.startsWith('us-isob-')) return 'sc2s.sgov.gov';
  if (region.startsWith('us-isof-')) return 'csp.hci.ic.gov';
  if (region.startsWith('us-iso-')) return 'c2s.ic.gov';
  return 'amazonaws.com';
}

/**
 * The XGBoost image URI for a concrete region (CLI, local runtime, tests).
 *
 * @throws Error naming the region and the known regions when the region has no registry entry
 */
export function xgboostImageUriForRegion(region: string, version: XgboostVersion = '1.7-1'): string {
  const account = XGBOOST_REGISTRY_ACCOUNTS[region];
  if (account === undefined) {
    throw new Error(
      `No SageMaker XGBoost ${version} registry is known for region "${region}"; known regions: ${Object.keys(XGBOOST_REGISTRY_ACCOUNTS).join(', ')} (lib/xgboost-image.ts)`,
    );
  }
  return `${account}.dkr.ecr.${region}.${urlSuffix(region)}/${REPOSITORY}:${version}`;
}

const MAPPING_ID = 'XgboostImageRegistryAccounts';

/**
 * The XGBoost image URI for the stack that owns `scope`, usable in environment-agnostic stacks.
 *
 * When the stack's region is a concrete value the URI is a plain string. When it is a token (env-agnostic stack,
 * `AWS::Region`) the URI is built in CloudFormation from a `CfnMapping` (one per stack, keyed by region) with
 * `Fn::FindInMap` + `AWS::URLSuffix`, so the template deploys unchanged to any supported region and fails the
 * deployment (not silently) in an unknown one.
 *
 * @param scope any construct in the stack
 * @param version framework version
 */
export function xgboostImageUri(scope: Construct, version: XgboostVersion = '1.7-1'): string {
  const stack = Stack.of(scope);
  const region = stack.region;
  if (!Token.isUnresolved(region)) {
    return xgboostImageUriForRegion(region, version);
  }
  let mapping = stack.node.tryFindChild(MAPPING_ID) as CfnMapping | undefined;
  if (mapping === undefined) {
    const mappings: Record<string, Record<string, string>> = {};
    for (const [r, account] of Object.entries(XGBOOST_REGISTRY_ACCOUNTS)) mappings[r] = { account };
    mapping = new CfnMapping(stack, MAPPING_ID, { mapping: mappings });
  }
  const account = mapping.findInMap(Aws.REGION, 'account');
  return Fn.join('', [account, '.dkr.ecr.', Aws.REGION, '.', Aws.URL_SUFFIX, `/${REPOSITORY}:${version}`]);
}
