import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

/** SKAB's columns, in the order of the component's default measurements. */
export const SKAB_MEASUREMENTS = [
  'Accelerometer1RMS',
  'Accelerometer2RMS',
  'Current',
  'Pressure',
  'Temperature',
  'Thermocouple',
  'Voltage',
  'Volume Flow RateRMS',
];

export interface SkabRow {
  readonly tsMs: number;
  readonly values: number[];
  readonly anomaly: boolean;
  readonly changepoint: boolean;
}

export interface SkabFile {
  readonly name: string;
  readonly rows: SkabRow[];
  /** Whether the file has SKAB's `anomaly` labels (the anomaly-free recording has none). */
  readonly labelled: boolean;
}

export interface SkabGroup {
  /** The folder: valve1, valve2, other, anomaly-free, or any other folder of SKAB-format files. */
  readonly name: string;
  readonly files: SkabFile[];
  readonly labelled: boolean;
}

/** SKAB's groups in its own order; other folders of CSV files follow, by name. */
export const KNOWN_GROUPS = ['valve1', 'valve2', 'other', 'anomaly-free'];

/** Reads one SKAB CSV (`;`-separated, header row, CRLF, `YYYY-MM-DD hh:mm:ss` times). */
export function readSkabCsv(path: string): SkabFile {
  const lines = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(';').map((h) => h.trim());
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`${path}: no column ${name}`);
    return i;
  };
  const ts = col('datetime');
  const measured = SKAB_MEASUREMENTS.map(col);
  const anomaly = header.indexOf('anomaly');
  const changepoint = header.indexOf('changepoint');
  const rows = lines.slice(1).map((line, i) => {
    const cells = line.split(';');
    const tsMs = Date.parse(`${(cells[ts] ?? '').replace(' ', 'T')}Z`);
    const values = measured.map((c) => Number(cells[c]));
    if (!Number.isFinite(tsMs) || values.some((v) => !Number.isFinite(v)))
      throw new Error(`${path}: row ${i + 2} is not a reading`);
    return {
      tsMs,
      values,
      anomaly: anomaly >= 0 && Number(cells[anomaly]) === 1,
      changepoint: changepoint >= 0 && Number(cells[changepoint]) === 1,
    };
  });
  return { name: basename(path), rows, labelled: anomaly >= 0 };
}

export function readSkabDir(dir: string): SkabFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.csv'))
    .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10) || a.localeCompare(b))
    .map((f) => readSkabCsv(join(dir, f)));
}

/** Every group of SKAB files under `dir`: each sub-folder holding CSV files, known groups first. */
export function readSkabGroups(dir: string): SkabGroup[] {
  if (!existsSync(dir)) throw new Error(`no SKAB data at ${dir}`);
  const folders = readdirSync(dir)
    .filter((f) => statSync(join(dir, f)).isDirectory())
    .filter((f) => readdirSync(join(dir, f)).some((x) => x.endsWith('.csv')));
  const rank = (f: string): number => {
    const i = KNOWN_GROUPS.indexOf(f);
    return i < 0 ? KNOWN_GROUPS.length : i;
  };
  folders.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return folders.map((name) => {
    const files = readSkabDir(join(dir, name));
    const labelled = files.every((f) => f.labelled);
    if (!labelled && files.some((f) => f.labelled))
      throw new Error(`${join(dir, name)}: some files have labels and some do not`);
    return { name, files, labelled };
  });
}

/** An unlabelled recording cut into runs of `rows` rows, so it is scored with the same protocol. */
export function cutIntoRuns(files: readonly SkabFile[], rows: number): SkabFile[] {
  const runs: SkabFile[] = [];
  for (const f of files)
    for (let at = 0; at + rows <= f.rows.length; at += rows)
      runs.push({ name: `${f.name}@${at}`, rows: f.rows.slice(at, at + rows), labelled: false });
  return runs;
}
