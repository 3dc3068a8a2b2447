export * from './cloud';
export * from './documents';
export * from './ipc-limits';
export * from './live-batch';
export * from './topics';
