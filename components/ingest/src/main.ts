import { main } from '../../../shared/src/component/run';
import { INGEST_COMPONENT, INGEST_VERSION, ingestConfigSchema } from './config';
import { IngestService } from './service';

main({
  name: INGEST_COMPONENT,
  version: INGEST_VERSION,
  schema: ingestConfigSchema,
  start: (deps) => IngestService.start(deps),
});
