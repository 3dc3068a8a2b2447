/**
 * The operator tool:
 *   npx edgedr status <thing|group> [--json]      presence and the DR shadow in each region
 *   npx edgedr send <thing> <command> [region|asset] [--via REGION] [--json]
 *   npx edgedr fleet [--json]                     gateways by active region, backlog, last failover
 * Options: --config FILE (default ./edgedr.yaml, or EDGEDR_CONFIG). Progress goes to stderr; results to
 * stdout. Exit codes: 0 done, 1 usage or configuration, 2 refused or failed by the gateway, 3 not sent
 * (not online), 4 no reply in time, 5 no region reachable.
 */
import { existsSync } from 'node:fs';
import { loadOperatorConfig } from './config';
import { COMMAND_TYPES, REGION_COMMANDS, type CommandType } from './messages';
import { Operator } from './operator';
import { renderFleet, renderSend, renderStatus } from './render';

const USAGE = `usage: edgedr status <thing|group> | send <thing> <${COMMAND_TYPES.join('|')}> [region|asset] [--via REGION] | fleet   [--json] [--config FILE]`;

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): { positional: string[]; options: Map<string, string | true> } {
  const positional: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) positional.push(a);
    else if (a === '--json' || a === '--help') options.set(a, true);
    else if (a.includes('=')) options.set(a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1));
    else {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      options.set(a, v);
    }
  }
  for (const k of options.keys())
    if (!['--json', '--help', '--config', '--via'].includes(k)) throw new UsageError(`unknown option ${k}`);
  return { positional, options };
}

export async function run(
  argv: readonly string[],
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(argv);
  } catch (e) {
    err(`${(e as Error).message}\n${USAGE}`);
    return 1;
  }
  const { positional, options } = parsed;
  const [command, ...rest] = positional;
  if (options.has('--help') || command === undefined) {
    (command === undefined && !options.has('--help') ? err : out)(USAGE);
    return command === undefined && !options.has('--help') ? 1 : 0;
  }
  const asJson = options.has('--json');
  const configPath = String(options.get('--config') ?? process.env['EDGEDR_CONFIG'] ?? 'edgedr.yaml');
  if (!existsSync(configPath)) {
    err(
      `no operator config at ${configPath}: give --config FILE (regions with endpoints and the operator certificate per region; see README)`,
    );
    return 1;
  }
  let config;
  try {
    config = loadOperatorConfig(configPath);
  } catch (e) {
    err((e as Error).message);
    return 1;
  }
  // Validate the command line before connecting anywhere.
  let sendArgs: { thing: string; type: CommandType; args: Record<string, string> } | undefined;
  if (command === 'send') {
    const [thing, type, extra] = rest;
    if (thing === undefined || type === undefined) return usage(err, 'send needs a thing and a command');
    if (!(COMMAND_TYPES as readonly string[]).includes(type))
      return usage(err, `unknown command ${type}: one of ${COMMAND_TYPES.join(', ')}`);
    const t = type as CommandType;
    if (REGION_COMMANDS.includes(t) && extra === undefined)
      return usage(err, `${t} needs a region: send ${thing} ${t} <region>`);
    const args: Record<string, string> = REGION_COMMANDS.includes(t)
      ? { region: extra! }
      : t === 'recalibrate' && extra !== undefined
        ? { asset: extra }
        : {};
    sendArgs = { thing, type: t, args };
  } else if (command === 'status') {
    if (rest[0] === undefined) return usage(err, 'status needs a thing or a group');
  } else if (command !== 'fleet') return usage(err, `unknown command ${command}`);

  const progress = (line: string): void => {
    if (!asJson) err(line);
  };
  const operator = await Operator.open(config, progress);
  try {
    if (operator.reachableRegions === 0) {
      err('no region could be reached');
      return 5;
    }
    if (command === 'status') {
      const things = operator.resolve(rest[0]!);
      const all = [];
      for (const thing of things) all.push(await operator.status(thing));
      out(
        asJson
          ? JSON.stringify(all.length === 1 && things[0] === rest[0] ? all[0] : all, null, 2)
          : all.map(renderStatus).join('\n\n'),
      );
      return 0;
    }
    if (command === 'fleet') {
      const rows = await operator.fleet();
      out(asJson ? JSON.stringify(rows, null, 2) : renderFleet(rows));
      return 0;
    }
    const s = sendArgs!;
    progress(`checking where ${s.thing} is online`);
    const via = options.get('--via');
    const result = await operator.send(s.thing, s.type, s.args, typeof via === 'string' ? via : undefined);
    (result.outcome === 'not-online' ? err : out)(
      asJson ? JSON.stringify(result, null, 2) : renderSend(result),
    );
    if (result.outcome === 'not-online') return 3;
    if (result.outcome === 'no-reply') return 4;
    return result.reply?.status === 'done' ? 0 : 2;
  } finally {
    await operator.close();
  }
}

function usage(err: (s: string) => void, line: string): number {
  err(`${line}\n${USAGE}`);
  return 1;
}

/** The process around `run`: stdout, stderr and the exit code. */
export function main(argv: readonly string[] = process.argv.slice(2)): void {
  run(
    argv,
    (s) => process.stdout.write(`${s}\n`),
    (s) => process.stderr.write(`${s}\n`),
  ).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`edgedr: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}

if (require.main === module) main();
