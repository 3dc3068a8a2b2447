import { main } from '../../../shared/src/component/run';
import { INFERENCE_COMPONENT, INFERENCE_VERSION, inferenceConfigSchema } from './config';
import { InferenceService } from './service';

main({
  name: INFERENCE_COMPONENT,
  version: INFERENCE_VERSION,
  schema: inferenceConfigSchema,
  start: (deps) => InferenceService.start(deps),
});
