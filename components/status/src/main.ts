import { main } from '../../../shared/src/component/run';
import { accessProblems } from './adapters/token-file';
import { STATUS_COMPONENT, STATUS_VERSION, statusConfigSchema } from './config';
import { StatusService } from './service';

main({
  name: STATUS_COMPONENT,
  version: STATUS_VERSION,
  schema: statusConfigSchema,
  // A listener beyond loopback without a usable token never starts (nor is deployed, where the nucleus asks).
  check: (config) => accessProblems(config),
  start: (deps) => StatusService.start(deps),
});
