import { main } from '../../../shared/src/component/run';
import { BUFFER_COMPONENT, BUFFER_VERSION, bufferConfigSchema } from './config';
import { startBuffer } from './service';

main({ name: BUFFER_COMPONENT, version: BUFFER_VERSION, schema: bufferConfigSchema, start: startBuffer });
