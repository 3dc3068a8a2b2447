export * from './types';
export * from './settings';
export { SqliteRecordStore, type OpenStoreOptions, type LostEpochAccount } from './sqlite-record-store';
export { recordSizeBytes } from './new-records';
export { GroupCommitWriter, type GroupCommitOptions } from './group-commit';
export { GAP_MARKER_STREAM } from './eviction';
export { RELEASED_UNITS_KEPT } from './units';
export { SCHEMA_VERSION } from './schema';
