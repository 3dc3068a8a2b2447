/**
 * Operator overrides (pin, pause) set by command survive a restart, unless a deployment changed the
 * configuration's own values since: then the deployment wins. A pin to a region no longer configured
 * is dropped.
 */

export interface Overrides {
  readonly pinnedRegion: string | null;
  readonly paused: boolean;
}

export interface SavedOverrides extends Overrides {
  /** The configuration's values when the overrides were saved. */
  readonly configPinnedRegion: string | null;
  readonly configPaused: boolean;
}

export function overridesInForce(
  saved: SavedOverrides | null,
  config: Overrides,
  regions: readonly string[],
): Overrides {
  if (saved === null) return config;
  if (saved.configPinnedRegion !== config.pinnedRegion || saved.configPaused !== config.paused) return config;
  const pinned =
    saved.pinnedRegion !== null && regions.includes(saved.pinnedRegion) ? saved.pinnedRegion : null;
  return { pinnedRegion: pinned, paused: saved.paused };
}

export function toSave(overrides: Overrides, config: Overrides): SavedOverrides {
  return { ...overrides, configPinnedRegion: config.pinnedRegion, configPaused: config.paused };
}
