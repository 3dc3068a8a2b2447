import { main } from '../../../shared/src/component/run';
import { FollowingStore } from '../../../shared/src/store/following-store';
import { sharedStoreLocation } from '../../../shared/src/store/location';
import { Mqtt5RegionLink } from './adapters/mqtt5-region-link';
import { OverrideFile } from './adapters/override-file';
import { SeenCommandsFile } from './adapters/seen-commands-file';
import { diagnoseRegion } from './adapters/tls-diagnosis';
import { REPLAY_COMPONENT, REPLAY_VERSION, replayConfigSchema } from './config';
import { checkSettings } from './plan';
import type { LinkSpec } from './ports';
import { regionFileProblems } from './regions';
import { ReplayService } from './service';

main({
  name: REPLAY_COMPONENT,
  version: REPLAY_VERSION,
  schema: replayConfigSchema,
  check: (config, thingName) => regionFileProblems(config.regions, thingName),
  start: async (deps) => {
    const { runtime, clock, logger } = deps;
    const location = await sharedStoreLocation(runtime);
    checkSettings(deps.config, location.settings);
    const store = new FollowingStore(location, runtime.thingName, logger);
    logger.info({ path: location.path }, 'store open');
    const linkDeps = {
      thingName: runtime.thingName,
      clock,
      logger,
      diagnose: (spec: LinkSpec, timeoutMs: number) => diagnoseRegion(spec.region, timeoutMs, clock.nowMs()),
    };
    return ReplayService.start({
      ...deps,
      store,
      links: (spec, events) => new Mqtt5RegionLink(spec, events, linkDeps),
      overrides: new OverrideFile(runtime.workDir, logger),
      seenCommands: new SeenCommandsFile(runtime.workDir, logger, () => clock.nowMs()),
    });
  },
});
