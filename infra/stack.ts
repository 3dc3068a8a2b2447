import {
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  aws_dynamodb as dynamodb,
  aws_iam as iam,
  aws_iot as iot,
  aws_lambda as lambda,
  aws_lambda_destinations as destinations,
  aws_s3 as s3,
  aws_sqs as sqs,
  custom_resources as cr,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { defineAlarms } from './alarms';
import type { LoadedInfraConfig } from './config';
import { gatewayPolicy, operatorPolicy, suiteTopics } from './policies';

export interface RegionStackProps extends StackProps {
  readonly infra: LoadedInfraConfig;
  readonly region: string;
  /** The consumer Lambda's bundle (infra/bundle.ts). */
  readonly consumerCodeDir: string;
}

/**
 * What one region needs for the suite (BP 3.2.8.2.3: consumers and rules in every region the device
 * connects to): the IoT policies, the batch rule and its consumer (decode with the suite's decoder,
 * de-duplicate by record id in DynamoDB, store in S3), presence and DR shadow state, error actions into
 * a dead-letter queue, the certificate registrations, and alarms. The same stack goes to every region.
 */
export class EdgeDrRegionStack extends Stack {
  constructor(scope: Construct, id: string, props: RegionStackProps) {
    super(scope, id, { ...props, env: { account: props.infra.config.account, region: props.region } });
    const { config } = props.infra;
    const region = props.region;
    const any = suiteTopics.anyThing;

    const gateway = new iot.CfnPolicy(this, 'GatewayPolicy', {
      policyName: 'edgedr-gateway',
      policyDocument: gatewayPolicy(region, config.account, config.replayDrainLinks),
    });
    const operator = new iot.CfnPolicy(this, 'OperatorPolicy', {
      policyName: 'edgedr-operator',
      policyDocument: operatorPolicy(region, config.account),
    });

    const data = new s3.Bucket(this, 'Records', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const idempotency = new dynamodb.Table(this, 'RecordIds', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const presence = new dynamodb.Table(this, 'Presence', {
      partitionKey: { name: 'thing', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const drState = new dynamodb.Table(this, 'DrState', {
      partitionKey: { name: 'thing', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Whatever a rule or the consumer could not handle lands here, with the message.
    const failures = new sqs.Queue(this, 'Failures', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });

    const consumer = new lambda.Function(this, 'Consumer', {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(props.consumerCodeDir),
      memorySize: config.consumer.memoryMb,
      timeout: Duration.seconds(config.consumer.timeoutSeconds),
      environment: {
        EDGEDR_BUCKET: data.bucketName,
        EDGEDR_IDEMPOTENCY_TABLE: idempotency.tableName,
        EDGEDR_RETENTION_DAYS: String(config.idempotencyRetentionDays),
        EDGEDR_CLAIM_LEASE_MS: String(config.consumer.claimLeaseMs),
      },
      // IoT rules invoke asynchronously: two retries, then the event (with its payload) goes to the queue.
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new destinations.SqsDestination(failures),
    });
    idempotency.grantReadWriteData(consumer);
    data.grantPut(consumer);

    const ruleRole = new iam.Role(this, 'RuleRole', {
      assumedBy: new iam.ServicePrincipal('iot.amazonaws.com'),
    });
    failures.grantSendMessages(ruleRole);
    presence.grantWriteData(ruleRole);
    drState.grantWriteData(ruleRole);
    const errorAction = { sqs: { queueUrl: failures.queueUrl, roleArn: ruleRole.roleArn, useBase64: true } };
    const rule = (name: string, sql: string, actions: iot.CfnTopicRule.ActionProperty[]): iot.CfnTopicRule =>
      new iot.CfnTopicRule(this, name, {
        topicRulePayload: { sql, awsIotSqlVersion: '2016-03-23', ruleDisabled: false, actions, errorAction },
      });

    // IoT rules cannot decompress: the payload goes to the consumer as base64 with the thing's name.
    const batches = rule(
      'BatchesRule',
      `SELECT encode(*, 'base64') AS payload, topic(2) AS thing, timestamp() AS receivedAtMs FROM '${any.batches}'`,
      [{ lambda: { functionArn: consumer.functionArn } }],
    );
    consumer.addPermission('InvokedByBatchesRule', {
      principal: new iam.ServicePrincipal('iot.amazonaws.com'),
      sourceArn: batches.attrArn,
      sourceAccount: config.account,
    });
    // Presence in this region (online means commands can be sent here) and the DR shadow's reported state.
    rule(
      'PresenceRule',
      `SELECT topic(2) AS thing, region, state, atMs, timestamp() AS receivedAtMs FROM '${any.presence}'`,
      [{ dynamoDBv2: { roleArn: ruleRole.roleArn, putItem: { tableName: presence.tableName } } }],
    );
    // update/documents carries the whole document after each update (update/accepted only the update).
    rule(
      'DrShadowRule',
      `SELECT topic(3) AS thing, current.state.reported AS reported, current.version AS version, ` +
        `timestamp() AS receivedAtMs FROM '$aws/things/+/shadow/name/${suiteTopics.shadowName}/update/documents'`,
      [{ dynamoDBv2: { roleArn: ruleRole.roleArn, putItem: { tableName: drState.tableName } } }],
    );

    this.registerCertificates(props.infra, gateway, operator);
    const endpoint = new cr.AwsCustomResource(this, 'IotEndpoint', {
      onUpdate: {
        service: 'Iot',
        action: 'describeEndpoint',
        parameters: { endpointType: 'iot:Data-ATS' },
        physicalResourceId: cr.PhysicalResourceId.of(`iot-data-ats-${region}`),
      },
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: cr.AwsCustomResourcePolicy.ANY_RESOURCE }),
      installLatestAwsSdk: false,
    });
    defineAlarms(this, { config, region, failures, ruleRole, errorAction });

    new CfnOutput(this, 'IotDataEndpoint', { value: endpoint.getResponseField('endpointAddress') });
    new CfnOutput(this, 'RecordsBucket', { value: data.bucketName });
    new CfnOutput(this, 'RecordIdsTable', { value: idempotency.tableName });
    new CfnOutput(this, 'PresenceTable', { value: presence.tableName });
    new CfnOutput(this, 'DrStateTable', { value: drState.tableName });
    new CfnOutput(this, 'FailuresQueue', { value: failures.queueUrl });
  }

  /**
   * Multi-account registration of each gateway's certificate (no CA: SNI_ONLY), attached to its thing
   * exclusively (so that `iot:Connection.Thing.ThingName` resolves for Replay's client id, which is not
   * the thing name) and to the gateway policy; the operator's certificate from its CSR.
   */
  private registerCertificates(
    infra: LoadedInfraConfig,
    gateway: iot.CfnPolicy,
    operator: iot.CfnPolicy,
  ): void {
    for (const [thing, pem] of infra.gatewayPems) {
      const id = thing.replace(/[^A-Za-z0-9]/g, '');
      const cert = new iot.CfnCertificate(this, `Cert${id}`, {
        certificatePem: pem,
        certificateMode: 'SNI_ONLY',
        status: 'ACTIVE',
      });
      const thingResource = new iot.CfnThing(this, `Thing${id}`, { thingName: thing });
      new iot.CfnThingPrincipalAttachment(this, `ThingCert${id}`, {
        thingName: thingResource.ref,
        principal: cert.attrArn,
        thingPrincipalType: 'EXCLUSIVE_THING',
      });
      new iot.CfnPolicyPrincipalAttachment(this, `PolicyCert${id}`, {
        policyName: gateway.ref,
        principal: cert.attrArn,
      });
    }
    if (infra.operatorCsr !== undefined) {
      const cert = new iot.CfnCertificate(this, 'OperatorCert', {
        certificateSigningRequest: infra.operatorCsr,
        status: 'ACTIVE',
      });
      new iot.CfnPolicyPrincipalAttachment(this, 'OperatorPolicyCert', {
        policyName: operator.ref,
        principal: cert.attrArn,
      });
      new CfnOutput(this, 'OperatorCertificateId', { value: cert.ref });
    }
  }
}
