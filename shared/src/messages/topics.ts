/**
 * The local topics the components use to talk to each other, in one place: the components' schemas take
 * their defaults from here, and the demo, the chaos suite, the benchmarks and the tests use the same names.
 * A recipe's DefaultConfiguration repeats them (a test checks that they agree).
 */
export const TOPICS = {
  /** Ingest → Inference (and anyone): what each commit stored, as envelopes (live-batch.ts). */
  ingestLive: 'edgedr/ingest/live',
  ingestMetrics: 'edgedr/ingest/metrics',
  bufferMetrics: 'edgedr/buffer/metrics',
  bufferEvents: 'edgedr/buffer/events',
  /** Inference → local actuators and status pages. */
  inferenceAlerts: 'edgedr/inference/alerts',
  /** Inference → Ingest: the same events, stored in the alert lane. */
  inferenceAnomalies: 'edgedr/inference/anomalies',
  inferenceMetrics: 'edgedr/inference/metrics',
  /** Replay → Inference: cloud commands forwarded (`recalibrate`). */
  inferenceCommands: 'edgedr/inference/commands',
  replayStatus: 'edgedr/replay/status',
} as const;

export type SuiteTopic = (typeof TOPICS)[keyof typeof TOPICS];
