import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { deploymentDocument } from '../../scripts/deployment';
import { REPO_ROOT } from '../support/child';
import { thrownBy } from '../support/thrown';

const example = (): Record<string, unknown> =>
  parse(readFileSync(join(REPO_ROOT, 'docs', 'examples', 'deployment.yaml'), 'utf8')) as Record<
    string,
    unknown
  >;

describe('thing-group deployment document', () => {
  it('deploys the four components and the status page the spec names at their recipe versions, each with its configuration merge as a JSON string', () => {
    const doc = deploymentDocument(example());
    expect(doc.targetArn).toBe('arn:aws:iot:eu-west-1:123456789012:thinggroup/pump-stations');
    expect(Object.keys(doc.components).sort()).toEqual([
      'com.edgedr.Buffer',
      'com.edgedr.Inference',
      'com.edgedr.Ingest',
      'com.edgedr.Replay',
      'com.edgedr.Status',
    ]);
    for (const c of Object.values(doc.components)) expect(c.componentVersion).toBe('0.1.0');
    const replay = JSON.parse(doc.components['com.edgedr.Replay']?.configurationUpdate?.merge ?? '{}') as {
      regions: { name: string }[];
    };
    expect(replay.regions.map((r) => r.name)).toEqual(['eu-west-1', 'eu-central-1']);
    expect(doc.iotJobConfiguration).toMatchObject({ jobExecutionsRolloutConfig: { maximumPerMinute: 5 } });
    expect(doc.deploymentPolicies).toMatchObject({ failureHandlingPolicy: 'ROLLBACK' });
  });

  it('deploys the four without the optional status page when the spec does not name it', () => {
    const spec = example();
    delete (spec['components'] as Record<string, unknown>)['com.edgedr.Status'];
    expect(Object.keys(deploymentDocument(spec).components).sort()).toEqual([
      'com.edgedr.Buffer',
      'com.edgedr.Inference',
      'com.edgedr.Ingest',
      'com.edgedr.Replay',
    ]);
  });

  it('refuses a configuration its component would refuse, naming the component and the key', () => {
    const spec = example();
    const components = spec['components'] as Record<string, Record<string, unknown>>;
    const regions = (components['com.edgedr.Replay']!['regions'] as Record<string, unknown>[]).map((r) => ({
      ...r,
    }));
    regions[1] = { ...regions[1], prioirty: 1 };
    components['com.edgedr.Replay'] = { ...components['com.edgedr.Replay'], regions };
    components['com.edgedr.Buffer'] = { store: { maxStoreBytes: 'lots' } };
    const message = (thrownBy(() => deploymentDocument(spec)) as Error).message;
    expect(message).toContain('com.edgedr.Replay');
    expect(message).toContain('prioirty');
    expect(message).toContain('com.edgedr.Buffer');
    expect(message).toContain('store.maxStoreBytes');
  });

  it('refuses a target that is not a thing group and components it does not know', () => {
    expect(
      (thrownBy(() => deploymentDocument({ ...example(), thingGroupArn: 'pump-stations' })) as Error).message,
    ).toContain('thingGroupArn');
    expect(
      (thrownBy(() => deploymentDocument({ ...example(), components: { 'com.edgedr.Nope': {} } })) as Error)
        .message,
    ).toContain('unknown components com.edgedr.Nope');
  });
});
