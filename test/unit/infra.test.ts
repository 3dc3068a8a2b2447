import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { makePki } from '../../dev/pki';
import { buildApp } from '../../infra/app';
import { gatewayPolicy, operatorPolicy } from '../../infra/policies';
import { REPO_ROOT } from '../support/child';
import { useTempDir } from '../support/temp-dir';

jest.setTimeout(120_000);

/** The least-privilege policy exactly as docs/deployment.md shows it. */
function documentedPolicy(): unknown {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'deployment.md'), 'utf8');
  const block = /## 3\. The IoT policy[\s\S]*?```json\n([\s\S]*?)```/.exec(doc)?.[1];
  return JSON.parse(block ?? 'null');
}

/** The docs' iot:Connect statement for a region with two drain links. */
function documentedDrainConnect(): unknown {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'deployment.md'), 'utf8');
  const block = /drainLinks: 2`:\n\n```json\n([\s\S]*?)```/.exec(doc)?.[1];
  return JSON.parse(block ?? 'null');
}

describe('infrastructure: the same stack in every region of one file', () => {
  const tempDir = useTempDir('ggdr-infra-');

  it('synthesizes policies, rules, consumer, de-duplication table, certificates and alarms per region', () => {
    const dir = tempDir();
    const pki = makePki(dir, 'home', ['pump-station-7']);
    execFileSync('openssl', [
      'req',
      '-new',
      '-key',
      pki.clients['pump-station-7']!.key,
      '-subj',
      '/CN=operator',
      '-out',
      join(dir, 'operator.csr'),
    ]);
    writeFileSync(
      join(dir, 'infra.yaml'),
      [
        "account: '123456789012'",
        'regions: [eu-west-1, eu-central-1]',
        'certificates:',
        '  gateways:',
        `    - { thing: pump-station-7, certificatePem: ${pki.clients['pump-station-7']!.cert} }`,
        '  operatorCsr: operator.csr',
        'alarms: { metricsRegion: eu-west-1, backlogAgeMs: 900000, email: ops@example.com }',
        '',
      ].join('\n'),
    );
    const { stacks } = buildApp(join(dir, 'infra.yaml'), join(dir, 'cdk.out'));
    expect(stacks.map((s) => [s.stackName, s.region])).toEqual([
      ['edgedr-eu-west-1', 'eu-west-1'],
      ['edgedr-eu-central-1', 'eu-central-1'],
    ]);
    // The consumer's bundle: the suite's decoder inside, the AWS SDK left to the Lambda runtime.
    const bundle = readFileSync(join(REPO_ROOT, 'build', 'consumer-lambda', 'index.js'), 'utf8');
    expect(bundle).toContain('envelope header does not agree with its records');
    expect(bundle).toMatch(/require\("@aws-sdk\/client-dynamodb"\)/);
    // The policy the docs give is the one the stack creates.
    expect(gatewayPolicy('REGION', 'ACCOUNT')).toEqual(documentedPolicy());
    // With drain links, exactly their client ids as well (the docs' second example).
    expect(gatewayPolicy('REGION', 'ACCOUNT', 2).Statement[0]).toEqual(documentedDrainConnect());

    for (const stack of stacks) {
      const t = Template.fromStack(stack);
      const region = stack.region;
      t.hasResourceProperties('AWS::IoT::Policy', {
        PolicyName: 'edgedr-gateway',
        PolicyDocument: gatewayPolicy(region, '123456789012'),
      });
      t.hasResourceProperties('AWS::IoT::Policy', {
        PolicyName: 'edgedr-operator',
        PolicyDocument: operatorPolicy(region, '123456789012'),
      });
      // Batches: to the consumer as base64, errors into the failures queue.
      t.hasResourceProperties('AWS::IoT::TopicRule', {
        TopicRulePayload: Match.objectLike({
          Sql: "SELECT encode(*, 'base64') AS payload, topic(2) AS thing, timestamp() AS receivedAtMs FROM 'edgedr/+/batches'",
          Actions: [{ Lambda: { FunctionArn: Match.anyValue() } }],
          ErrorAction: { Sqs: Match.objectLike({ UseBase64: true }) },
        }),
      });
      for (const from of [
        "FROM 'edgedr/+/presence'",
        "FROM '$aws/things/+/shadow/name/edgedr-dr/update/documents'",
      ])
        t.hasResourceProperties('AWS::IoT::TopicRule', {
          TopicRulePayload: Match.objectLike({
            Sql: Match.stringLikeRegexp(from.replace(/[$+]/g, (c) => `\\${c}`)),
            Actions: [{ DynamoDBv2: Match.objectLike({ PutItem: Match.anyValue() }) }],
            ErrorAction: { Sqs: Match.anyValue() },
          }),
        });
      t.hasResourceProperties('AWS::IoT::TopicRule', {
        TopicRulePayload: Match.objectLike({
          Sql: Match.stringLikeRegexp("greengrassv2/health/json' WHERE NOT isUndefined"),
          Actions: [{ CloudwatchMetric: Match.objectLike({ MetricName: 'BrokenComponentReports' }) }],
        }),
      });
      t.resourceCountIs('AWS::IoT::TopicRule', 4);
      // The consumer: the bundled decoder, the table keyed on the record id, retries then the queue.
      t.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs24.x',
        Handler: 'index.handler',
        Environment: {
          Variables: Match.objectLike({
            EDGEDR_IDEMPOTENCY_TABLE: Match.anyValue(),
            EDGEDR_BUCKET: Match.anyValue(),
          }),
        },
      });
      t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
      });
      t.hasResourceProperties('AWS::Lambda::Permission', {
        Principal: 'iot.amazonaws.com',
        SourceAccount: '123456789012',
      });
      t.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      });
      t.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
      // Certificates: the gateway's without its CA, attached to its thing exclusively; the operator's from its CSR.
      t.hasResourceProperties('AWS::IoT::Certificate', { CertificateMode: 'SNI_ONLY', Status: 'ACTIVE' });
      t.hasResourceProperties('AWS::IoT::Certificate', {
        CertificateSigningRequest: Match.stringLikeRegexp('BEGIN CERTIFICATE REQUEST'),
      });
      t.hasResourceProperties('AWS::IoT::ThingPrincipalAttachment', {
        ThingName: Match.anyValue(),
        ThingPrincipalType: 'EXCLUSIVE_THING',
      });
      t.resourceCountIs('AWS::IoT::PolicyPrincipalAttachment', 2);
      // Alarms: failures and BROKEN everywhere; backlog age and no healthy region where the metrics go.
      const fleet = region === 'eu-west-1';
      t.resourceCountIs('AWS::CloudWatch::Alarm', fleet ? 4 : 2);
      if (fleet) {
        t.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Threshold: 1,
          ComparisonOperator: 'LessThanThreshold',
          TreatMissingData: 'breaching',
          Metrics: [
            Match.objectLike({ Expression: 'SELECT MIN(HealthyRegions) FROM SCHEMA("EdgeDR", Thing)' }),
          ],
        });
        t.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Threshold: 900_000,
          Metrics: [
            Match.objectLike({ Expression: 'SELECT MAX(OldestRecordAgeMs) FROM SCHEMA("EdgeDR", Thing)' }),
          ],
        });
      }
      t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    }
  });

  it('refuses a config with a typo or a metrics region it does not deploy to', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.yaml'), "account: '123456789012'\nregions: [eu-west-1]\nregoins: []\n");
    expect(() => buildApp(join(dir, 'a.yaml'), join(dir, 'out'))).toThrow(/regoins: expected no such key/);
    writeFileSync(
      join(dir, 'b.yaml'),
      "account: '123456789012'\nregions: [eu-west-1]\nalarms: { metricsRegion: us-east-1 }\n",
    );
    expect(() => buildApp(join(dir, 'b.yaml'), join(dir, 'out'))).toThrow(
      /metricsRegion us-east-1 is not one of the regions/,
    );
  });
});
