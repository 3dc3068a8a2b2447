export * from './types';
export * from './settings';
export {
  SqliteRecordStore,
  recordSizeBytes,
  type OpenStoreOptions,
  type LostEpochAccount,
} from './sqlite-record-store';
export { GroupCommitWriter, type GroupCommitOptions } from './group-commit';
export { GAP_MARKER_STREAM } from './eviction';
export { SCHEMA_VERSION } from './schema';
