import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OverrideFile } from '../../components/replay/src/adapters/override-file';
import { SeenCommandsFile } from '../../components/replay/src/adapters/seen-commands-file';
import { remember, NOTHING_SEEN } from '../../components/replay/src/core/seen-commands';
import { captureLogger } from '../support/ipc';
import { useTempDir } from '../support/temp-dir';

describe('Replay state files in the work directory', () => {
  const dir = useTempDir('ggdr-replay-state-');
  const NOW = 1_800_000_000_000;

  it('accepted command ids survive a restart (a new reader of the same file)', () => {
    const { logger } = captureLogger();
    const seen = remember(NOTHING_SEEN, { id: 'op-7', issuedAtMs: NOW - 10 }, NOW, 300_000);
    new SeenCommandsFile(dir(), logger, () => NOW).save({ ...seen, floorMs: NOW - 400_000 });
    expect(new SeenCommandsFile(dir(), logger, () => NOW).load()).toEqual({
      entries: [{ id: 'op-7', issuedAtMs: NOW - 10 }],
      floorMs: NOW - 400_000,
    });
    expect(JSON.parse(readFileSync(join(dir(), 'replay-commands.json'), 'utf8'))).toMatchObject({ v: 1 });
  });

  it('an unreadable file of ids refuses every command issued before it was found so, and says so', () => {
    const { logger, lines } = captureLogger();
    writeFileSync(join(dir(), 'replay-commands.json'), '{"v":1,"entries":[["op-1"');
    expect(new SeenCommandsFile(dir(), logger, () => NOW).load()).toEqual({ entries: [], floorMs: NOW });
    expect(
      lines().some(
        (l) => l['msg'] === 'accepted command ids unreadable: commands issued before now are refused',
      ),
    ).toBe(true);
  });

  it('ids that cannot be saved make the save throw (the command is then not run)', () => {
    const { logger } = captureLogger();
    const file = new SeenCommandsFile(join(dir(), 'missing-dir'), logger, () => NOW);
    expect(() => file.save(NOTHING_SEEN)).toThrow(/accepted command ids not saved/);
  });

  it('operator overrides round-trip; an unreadable file means the configuration applies', () => {
    const { logger } = captureLogger();
    const saved = { pinnedRegion: 'b', paused: true, configPinnedRegion: null, configPaused: false };
    new OverrideFile(dir(), logger).save(saved);
    expect(new OverrideFile(dir(), logger).load()).toEqual(saved);
    writeFileSync(join(dir(), 'replay-state.json'), 'not json');
    expect(new OverrideFile(dir(), logger).load()).toBeNull();
  });
});
