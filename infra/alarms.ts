import type { aws_iam as iam, aws_sqs as sqs } from 'aws-cdk-lib';
import {
  Duration,
  aws_cloudwatch as cloudwatch,
  aws_cloudwatch_actions as actions,
  aws_iot as iot,
  aws_sns as sns,
  aws_sns_subscriptions as subscriptions,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { InfraConfig } from './config';

/**
 * Example alarms. In every region: anything in the failures queue (a rule or the consumer could not
 * handle a message), and a suite component reported BROKEN by the Greengrass fleet status service.
 * In the metrics region (where the gateways' aws.greengrass.Cloudwatch component publishes): a backlog
 * older than the limit on any gateway, and a gateway with no healthy region. Missing data counts as
 * breaching there: a gateway that cannot reach any region cannot publish its metrics either.
 */
export function defineAlarms(
  scope: Construct,
  props: {
    readonly config: InfraConfig;
    readonly region: string;
    readonly failures: sqs.Queue;
    readonly ruleRole: iam.Role;
    readonly errorAction: iot.CfnTopicRule.ActionProperty;
  },
): void {
  const { config, region } = props;
  const ns = config.alarms.namespace;
  const topic = new sns.Topic(scope, 'Alarms', { displayName: `edge DR suite alarms (${region})` });
  if (config.alarms.email !== undefined)
    topic.addSubscription(new subscriptions.EmailSubscription(config.alarms.email));
  const notify = new actions.SnsAction(topic);

  new cloudwatch.Alarm(scope, 'FailuresQueued', {
    alarmDescription:
      'Messages a rule or the batch consumer could not handle are waiting in the failures queue.',
    metric: props.failures.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
    threshold: 0,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  }).addAlarmAction(notify);

  // The nucleus's fleet status reports (Java nucleus and nucleus lite alike) list each component's status.
  cloudwatch.Metric.grantPutMetricData(props.ruleRole);
  const broken =
    "(SELECT VALUE componentName FROM components WHERE status = 'BROKEN' AND startswith(componentName, 'com.edgedr.'))";
  new iot.CfnTopicRule(scope, 'BrokenComponentRule', {
    topicRulePayload: {
      sql: `SELECT thing, get(${broken}, 0) AS component FROM '$aws/things/+/greengrassv2/health/json' WHERE NOT isUndefined(get(${broken}, 0))`,
      awsIotSqlVersion: '2016-03-23',
      ruleDisabled: false,
      actions: [
        {
          cloudwatchMetric: {
            metricNamespace: ns,
            metricName: 'BrokenComponentReports',
            metricUnit: 'Count',
            metricValue: '1',
            roleArn: props.ruleRole.roleArn,
          },
        },
      ],
      errorAction: props.errorAction,
    },
  });
  new cloudwatch.Alarm(scope, 'BrokenComponent', {
    alarmDescription:
      'A gateway reported a suite component BROKEN (three failed starts): it stays down until redeployed.',
    metric: new cloudwatch.Metric({
      namespace: ns,
      metricName: 'BrokenComponentReports',
      statistic: 'Sum',
      period: Duration.minutes(5),
    }),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  }).addAlarmAction(notify);

  if (config.alarms.metricsRegion !== region) return;
  // Fleet-wide over the Thing dimension, with CloudWatch Metrics Insights.
  const fleet = (fn: 'MAX' | 'MIN', metric: string): cloudwatch.MathExpression =>
    new cloudwatch.MathExpression({
      expression: `SELECT ${fn}(${metric}) FROM SCHEMA("${ns}", Thing)`,
      period: Duration.minutes(5),
      label: `${fn} ${metric} over gateways`,
    });
  new cloudwatch.Alarm(scope, 'BacklogAge', {
    alarmDescription: `A gateway holds records older than ${config.alarms.backlogAgeMs} ms that no region has acknowledged.`,
    metric: fleet('MAX', 'OldestRecordAgeMs'),
    threshold: config.alarms.backlogAgeMs,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 2,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  }).addAlarmAction(notify);
  new cloudwatch.Alarm(scope, 'NoRegionHealthy', {
    alarmDescription:
      'A gateway sees no healthy region (or sends no metrics at all): its data waits in its store.',
    metric: fleet('MIN', 'HealthyRegions'),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: 2,
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
  }).addAlarmAction(notify);
}
