import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';

export const REPO_ROOT = join(__dirname, '..', '..');

/** Starts a TypeScript script of the project as a real Node process (through tsx). */
export function spawnTs(script: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, script), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Calls `onLine` for each stdout line; resolves with the exit code and signal. */
export function collect(
  child: ChildProcess,
  onLine: (line: string) => void,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const lines = child.stdout === null ? undefined : createInterface({ input: child.stdout });
  lines?.on('line', onLine);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}
