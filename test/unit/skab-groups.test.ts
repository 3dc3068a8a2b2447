import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pooledTitle } from '../../eval/run';
import { cutIntoRuns, readSkabGroups } from '../../eval/skab-data';
import { useTempDir } from '../support/temp-dir';

const HEADER =
  'datetime;Accelerometer1RMS;Accelerometer2RMS;Current;Pressure;Temperature;Thermocouple;Voltage;Volume Flow RateRMS';

/** A small file in SKAB's format (made up here, not SKAB's data). */
function csv(rows: number, labelled: boolean): string {
  const lines = [labelled ? `${HEADER};anomaly;changepoint` : HEADER];
  for (let i = 0; i < rows; i++) {
    const ts = new Date(Date.UTC(2020, 2, 9, 10, 0, i)).toISOString().replace('T', ' ').slice(0, 19);
    const values = [0.02, 0.04, 1.3, 0.2, 70, 25, 230, 32].join(';');
    lines.push(
      labelled ? `${ts};${values};${i >= rows / 2 ? 1 : 0}.0;${i === rows / 2 ? 1 : 0}.0` : `${ts};${values}`,
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

describe('SKAB groups under --data', () => {
  const tempDir = useTempDir('ggdr-skab-');

  it('finds every folder of SKAB files, SKAB groups first in their order, labels read from the columns', () => {
    const dir = tempDir();
    const put = (group: string, file: string, body: string): void => {
      mkdirSync(join(dir, group), { recursive: true });
      writeFileSync(join(dir, group, file), body);
    };
    put('other', '1.csv', csv(10, true));
    put('anomaly-free', 'anomaly-free.csv', csv(25, false));
    put('valve2', '0.csv', csv(10, true));
    put('valve1', '10.csv', csv(10, true));
    put('valve1', '2.csv', csv(10, true));
    put('zz-extra', '0.csv', csv(10, true));
    mkdirSync(join(dir, 'empty'));
    const groups = readSkabGroups(dir);
    expect(groups.map((g) => [g.name, g.labelled, g.files.map((f) => f.name)])).toEqual([
      ['valve1', true, ['2.csv', '10.csv']],
      ['valve2', true, ['0.csv']],
      ['other', true, ['1.csv']],
      ['anomaly-free', false, ['anomaly-free.csv']],
      ['zz-extra', true, ['0.csv']],
    ]);
    const v1 = groups[0]!.files[0]!;
    expect(v1.rows.filter((r) => r.anomaly)).toHaveLength(5);
    expect(v1.rows.filter((r) => r.changepoint).map((r) => r.tsMs)).toEqual([Date.UTC(2020, 2, 9, 10, 0, 5)]);
    expect(cutIntoRuns(groups[3]!.files, 10).map((r) => r.name)).toEqual([
      'anomaly-free.csv@0',
      'anomaly-free.csv@10',
    ]);
  });

  it('titles pooled figures as the leaderboard basis only with all of valve1, valve2 and other', () => {
    expect(pooledTitle([{ name: 'valve1', files: 16 }])).toBe(
      "pooled over 16 labelled files (valve1): a subset, not the leaderboard's 34-file basis",
    );
    expect(
      pooledTitle([
        { name: 'valve1', files: 16 },
        { name: 'valve2', files: 4 },
        { name: 'other', files: 14 },
      ]),
    ).toBe("pooled over SKAB's leaderboard basis: valve1 + valve2 + other, 34 files");
    expect(
      pooledTitle([
        { name: 'valve1', files: 16 },
        { name: 'valve2', files: 4 },
        { name: 'other', files: 13 },
        { name: 'mine', files: 1 },
      ]),
    ).toContain('a subset');
  });
});
