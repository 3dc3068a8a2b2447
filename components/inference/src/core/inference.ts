import { type CoreInput, type CorePolicy, type InferenceState, type Step } from './inference-state';
import { firstCalibration, onRecords, recalibrate } from './intake';
import { onFlush, onModel, onScored } from './judging';

/**
 * The Inference component's logic, without I/O: `(state, input, nowMs) -> { state, effects }`. Readings
 * become per-asset windows, windows wait for a scoring call, scores become alarm episodes, and windows of
 * normal operation become calibrations. The shell scores windows with onnxruntime, fits and swaps models,
 * publishes events and keeps the timer; it reports back with inputs. Time that rules the detector is the
 * readings' own; `nowMs` only stamps calibrations.
 */
export function step(state: InferenceState, policy: CorePolicy, input: CoreInput, nowMs: number): Step {
  switch (input.kind) {
    case 'records':
      return onRecords(state, policy, input.records, nowMs);
    case 'flush':
      return onFlush(state, policy);
    case 'scored':
      return onScored(state, policy, input);
    case 'score-failed':
      return {
        state: {
          ...state,
          counters: { ...state.counters, failedWindows: state.counters.failedWindows + input.windows },
        },
        effects: [],
      };
    case 'model':
      return onModel(state, input.key, input.info, input.calibrated);
    case 'model-refused':
      return {
        state: {
          ...state,
          counters: { ...state.counters, refusedModels: state.counters.refusedModels + 1 },
        },
        effects: [],
      };
    case 'recalibrate':
      return recalibrate(state, policy, input.asset, input.reason, nowMs, false);
  }
}

export { firstCalibration };
export {
  activeAlarms,
  initialState,
  modelKeyOf,
  type CoreInput,
  type CorePolicy,
  type Counters,
  type Effect,
  type InferenceState,
  type LiveRecord,
  type PendingWindow,
  type Step,
} from './inference-state';
