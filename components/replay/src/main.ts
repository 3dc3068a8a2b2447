import { main } from '../../../shared/src/component/run';
import { REPLAY_COMPONENT, REPLAY_VERSION, replayConfigSchema } from './config';
import { regionFileProblems } from './regions';
import { ReplayService } from './service';

main({
  name: REPLAY_COMPONENT,
  version: REPLAY_VERSION,
  schema: replayConfigSchema,
  check: (config, thingName) => regionFileProblems(config.regions, thingName),
  start: (deps) => ReplayService.start(deps),
});
