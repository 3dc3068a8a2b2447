/**
 * The infrastructure app: the same stack in every region of one config file.
 *   npm run infra:synth [-- --config infra/edgedr-infra.yaml]   # CloudFormation templates in cdk.out/, no AWS needed
 *   npx aws-cdk@2 deploy --app "npx tsx infra/app.ts" --all      # with credentials for the account
 * The config file may also be given as EDGEDR_INFRA_CONFIG (the cdk CLI passes no arguments).
 */
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { argValue } from '../dev/args';
import { bundleConsumer } from './bundle';
import { loadInfraConfig } from './config';
import { EdgeDrRegionStack } from './stack';

const PROJECT_ROOT = resolve(__dirname, '..');

export function buildApp(configPath: string, outdir?: string): { app: App; stacks: EdgeDrRegionStack[] } {
  const infra = loadInfraConfig(configPath);
  const app = new App({ outdir: outdir ?? join(PROJECT_ROOT, 'cdk.out') });
  const code = bundleConsumer(PROJECT_ROOT, join(PROJECT_ROOT, 'build', 'consumer-lambda'));
  const stacks = infra.config.regions.map(
    (region) =>
      new EdgeDrRegionStack(app, `${infra.config.stackPrefix}-${region}`, {
        infra,
        region,
        consumerCodeDir: code,
      }),
  );
  return { app, stacks };
}

if (require.main === module) {
  const configPath =
    argValue(process.argv.slice(2), '--config') ??
    process.env['EDGEDR_INFRA_CONFIG'] ??
    join(PROJECT_ROOT, 'infra', 'edgedr-infra.yaml');
  const { app, stacks } = buildApp(configPath);
  const assembly = app.synth();
  for (const s of stacks) console.log(`${s.stackName}: ${s.region}`);
  console.log(`templates in ${assembly.directory}`);
}
