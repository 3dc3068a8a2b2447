import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../shared/src/config';
import { TOPICS } from '../../shared/src/messages/topics';
import { withoutAccessControl } from '../../shared/src/component/run';
import { accessControlSchema } from '../../shared/src/runtime/host/access-control';
import { defaultConfiguration, loadRecipe } from '../../shared/src/runtime/host/recipe';
import { bufferConfigSchema, BUFFER_COMPONENT, BUFFER_VERSION } from '../../components/buffer/src/config';
import { ingestConfigSchema, INGEST_COMPONENT, INGEST_VERSION } from '../../components/ingest/src/config';
import { replayConfigSchema, REPLAY_COMPONENT, REPLAY_VERSION } from '../../components/replay/src/config';
import {
  inferenceConfigSchema,
  INFERENCE_COMPONENT,
  INFERENCE_VERSION,
} from '../../components/inference/src/config';
import { statusConfigSchema, STATUS_COMPONENT, STATUS_VERSION } from '../../components/status/src/config';

const RECIPES = join(__dirname, '..', '..', 'recipes');

/** Each component's schema and version, by component name: a recipe without an entry fails the test. */
const COMPONENTS = {
  [BUFFER_COMPONENT]: { schema: bufferConfigSchema, version: BUFFER_VERSION },
  [INGEST_COMPONENT]: { schema: ingestConfigSchema, version: INGEST_VERSION },
  [REPLAY_COMPONENT]: { schema: replayConfigSchema, version: REPLAY_VERSION },
  [INFERENCE_COMPONENT]: { schema: inferenceConfigSchema, version: INFERENCE_VERSION },
  [STATUS_COMPONENT]: { schema: statusConfigSchema, version: STATUS_VERSION },
};

describe('recipes and component schemas agree', () => {
  const files = readdirSync(RECIPES).filter((f) => f.endsWith('.yaml'));

  it('has a recipe for every component', () => {
    expect(files.map((f) => f.replace(/\.yaml$/, '')).sort()).toEqual(Object.keys(COMPONENTS).sort());
  });

  it.each(files)('%s: DefaultConfiguration parses with the schema, version and name match', (file) => {
    const recipe = loadRecipe(join(RECIPES, file));
    expect(file).toBe(`${recipe.ComponentName}.yaml`);
    const component = COMPONENTS[recipe.ComponentName as keyof typeof COMPONENTS];
    expect(component).toBeDefined();
    expect(recipe.ComponentVersion).toBe(component.version);
    const defaults = defaultConfiguration(recipe);
    accessControlSchema.parse(defaults['accessControl']);
    const parsed = parseConfig(component.schema, withoutAccessControl(defaults), file);
    // The recipe spells out every default, so what a user sees in it is what runs.
    expect(parsed).toEqual(withoutAccessControl(defaults));
  });

  /** What a local deployment of a YAML recipe hands a component on nucleus lite: every scalar as text. */
  const asYamlText = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(asYamlText);
    if (typeof value === 'object' && value !== null)
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asYamlText(v)]));
    return value === null ? 'null' : JSON.stringify(value).replace(/^"|"$/g, '');
  };

  it.each(files)('%s: the same configuration with every scalar as text parses to the same values', (file) => {
    const recipe = loadRecipe(join(RECIPES, file));
    const component = COMPONENTS[recipe.ComponentName as keyof typeof COMPONENTS];
    const defaults = withoutAccessControl(defaultConfiguration(recipe));
    expect(parseConfig(component.schema, asYamlText(defaults), `${file} as text`)).toEqual(defaults);
  });

  it('the status page may only subscribe, and only to the suite topics it reads', () => {
    const defaults = defaultConfiguration(loadRecipe(join(RECIPES, `${STATUS_COMPONENT}.yaml`)));
    const acl = accessControlSchema.parse(defaults['accessControl']);
    expect(Object.keys(acl)).toEqual(['aws.greengrass.ipc.pubsub']);
    const policies = Object.values(acl['aws.greengrass.ipc.pubsub'] ?? {});
    expect(policies.flatMap((p) => p.operations)).toEqual(['aws.greengrass#SubscribeToTopic']);
    const config = parseConfig(statusConfigSchema, withoutAccessControl(defaults), 'status');
    expect(policies.flatMap((p) => p.resources).sort()).toEqual(Object.values(config.topics).sort());
    expect(config.listenAddress).toBe('127.0.0.1');
    expect(config.tokenPath).toBeNull();
  });

  it('the recipes name the suite topics their schemas default to', () => {
    const text = files.map((f) => JSON.stringify(defaultConfiguration(loadRecipe(join(RECIPES, f))))).join();
    for (const topic of Object.values(TOPICS)) expect(text).toContain(`"${topic}"`);
  });
});
