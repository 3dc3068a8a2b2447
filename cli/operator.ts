import { randomBytes } from 'node:crypto';
import type { OperatorConfig } from './config';
import {
  commandPayload,
  presenceSchema,
  replySchema,
  reportedSchema,
  thingTopics,
  type CommandType,
  type Presence,
  type Reply,
  type Reported,
} from './messages';
import { RegionSession, type Received } from './region-session';

export interface RegionView {
  readonly region: string;
  /** Why the region could not be asked, if it could not. */
  readonly unreachable: string | null;
  readonly presence: Presence | null;
  readonly shadow: { readonly reported: Reported; readonly version: number | null } | null;
  /** Why there is no shadow: none in this region (404), no answer, or an error. */
  readonly shadowProblem: string | null;
}

export interface ThingStatus {
  readonly thing: string;
  readonly regions: readonly RegionView[];
  /** Regions where the retained presence says online, published from that region's connection. */
  readonly onlineIn: readonly string[];
  /** The freshest DR shadow across regions (each region keeps the copy from its time as active). */
  readonly reported: Reported | null;
  readonly shadowRegion: string | null;
}

export type SendResult =
  | {
      readonly outcome: 'not-online';
      readonly thing: string;
      readonly reason: string;
      readonly status: ThingStatus;
    }
  | {
      readonly outcome: 'replied' | 'no-reply';
      readonly thing: string;
      readonly region: string;
      readonly command: Record<string, unknown>;
      readonly reply: Reply | null;
      readonly elapsedMs: number;
    };

export interface FleetRow {
  readonly thing: string;
  readonly onlineIn: readonly string[];
  readonly activeRegion: string | null;
  readonly backlog: NonNullable<Reported['backlog']> | null;
  readonly oldestAgeMs: number | null;
  readonly lastFailover: NonNullable<Reported['lastFailover']> | null;
  readonly shadowUpdatedAtMs: number | null;
}

const json = (m: Received): unknown => {
  try {
    return JSON.parse(m.payload.toString('utf8'));
  } catch {
    return undefined;
  }
};

/** The operator's view of the regions: one session per region, presence and DR shadow reads, commands. */
export class Operator {
  private constructor(
    private readonly config: OperatorConfig,
    private readonly sessions: ReadonlyMap<string, RegionSession>,
    private readonly unreachable: ReadonlyMap<string, string>,
  ) {}

  static async open(config: OperatorConfig, progress: (line: string) => void): Promise<Operator> {
    progress(`connecting to ${config.regions.map((r) => r.name).join(', ')}`);
    const results = await Promise.allSettled(
      config.regions.map((r) => RegionSession.connect(r, config.timeouts.connectMs)),
    );
    const sessions = new Map<string, RegionSession>();
    const unreachable = new Map<string, string>();
    results.forEach((res, i) => {
      const name = config.regions[i]!.name;
      if (res.status === 'fulfilled') sessions.set(name, res.value);
      else {
        const why = res.reason instanceof Error ? res.reason.message : String(res.reason);
        unreachable.set(name, why);
        progress(`cannot reach ${why}`);
      }
    });
    return new Operator(config, sessions, unreachable);
  }

  get reachableRegions(): number {
    return this.sessions.size;
  }

  /** Things named directly, or the members of a group from the config file. */
  resolve(target: string): string[] {
    return this.config.groups[target] ?? [target];
  }

  private async readRegion(thing: string, region: string): Promise<RegionView> {
    const session = this.sessions.get(region);
    if (session === undefined)
      return {
        region,
        unreachable: this.unreachable.get(region) ?? 'not connected',
        presence: null,
        shadow: null,
        shadowProblem: null,
      };
    const t = thingTopics(thing);
    const readMs = this.config.timeouts.readMs;
    const presenceSeen = session.collect(
      (m) => m.topic === t.presence && m.retain,
      readMs,
      (g) => g.length > 0,
    );
    const token = randomBytes(8).toString('hex');
    const answers = [`${t.shadowGet}/accepted`, `${t.shadowGet}/rejected`];
    const shadowSeen = session.collect(
      (m) =>
        answers.includes(m.topic) &&
        (json(m) as { clientToken?: unknown } | undefined)?.clientToken === token,
      readMs,
      (g) => g.length > 0,
    );
    await session.subscribe([t.presence, ...answers]);
    await session.publish(t.shadowGet, JSON.stringify({ clientToken: token }));
    const [presenceMsg, shadowMsg] = await Promise.all([presenceSeen, shadowSeen]);
    const parsedPresence = presenceSchema.safeParse(
      presenceMsg[0] === undefined ? undefined : json(presenceMsg[0]),
    );
    let shadow: RegionView['shadow'] = null;
    let shadowProblem: string | null = null;
    const answer = shadowMsg[0];
    if (answer === undefined) shadowProblem = `no answer from the shadow service within ${readMs} ms`;
    else if (answer.topic.endsWith('/rejected')) {
      const body = json(answer) as { code?: number; message?: string } | undefined;
      shadowProblem =
        body?.code === 404 ? 'no DR shadow in this region' : `shadow refused: ${body?.message ?? 'unknown'}`;
    } else {
      const body = json(answer) as { state?: { reported?: unknown }; version?: number } | undefined;
      const reported = reportedSchema.safeParse(body?.state?.reported ?? {});
      if (reported.success) shadow = { reported: reported.data, version: body?.version ?? null };
      else
        shadowProblem = `the shadow does not look like Replay's: ${reported.error.issues[0]?.message ?? ''}`;
    }
    return {
      region,
      unreachable: null,
      presence: parsedPresence.success ? parsedPresence.data : null,
      shadow,
      shadowProblem,
    };
  }

  async status(thing: string): Promise<ThingStatus> {
    const regions = await Promise.all(this.config.regions.map((r) => this.readRegion(thing, r.name)));
    const onlineIn = regions
      .filter((v) => v.presence?.state === 'online' && v.presence.region === v.region)
      .map((v) => v.region);
    const freshest = regions
      .filter((v) => v.shadow !== null)
      .sort((a, b) => (b.shadow?.reported.updatedAtMs ?? 0) - (a.shadow?.reported.updatedAtMs ?? 0))[0];
    return {
      thing,
      regions,
      onlineIn,
      reported: freshest?.shadow?.reported ?? null,
      shadowRegion: freshest?.region ?? null,
    };
  }

  /**
   * Sends a command only through a region where the gateway's presence says online (BP 3.2.8.1): the
   * active region when it is online there, else the first online one in the file's order, or `via`.
   * Subscribes to the replies first, then publishes with correlation data and a message expiry, and
   * waits for the reply carrying that correlation data.
   */
  async send(
    thing: string,
    type: CommandType,
    args: Readonly<Record<string, string>>,
    via?: string,
  ): Promise<SendResult> {
    const status = await this.status(thing);
    const why = (v: RegionView): string =>
      v.unreachable !== null
        ? `${v.region}: unreachable (${v.unreachable})`
        : v.presence === null
          ? `${v.region}: no presence`
          : `${v.region}: ${v.presence.state} since ${new Date(v.presence.atMs).toISOString()}`;
    if (status.onlineIn.length === 0)
      return {
        outcome: 'not-online',
        thing,
        reason: `${thing} is not online in any region (${status.regions.map(why).join('; ')})`,
        status,
      };
    if (via !== undefined && !status.onlineIn.includes(via))
      return {
        outcome: 'not-online',
        thing,
        reason: `${thing} is not online in ${via} (${
          status.regions
            .filter((v) => v.region === via)
            .map(why)
            .join('') || `${via}: not in the config`
        }); online in ${status.onlineIn.join(', ')}`,
        status,
      };
    const active = status.reported?.activeRegion ?? null;
    const region =
      via ?? (active !== null && status.onlineIn.includes(active) ? active : status.onlineIn[0]!);
    const session = this.sessions.get(region)!;
    const t = thingTopics(thing);
    const correlation = randomBytes(16);
    const started = Date.now();
    const id = `op-${started}-${correlation.subarray(0, 4).toString('hex')}`;
    const command = commandPayload(id, type, args, started, this.config.commandTtlMs);
    const replied = session.collect(
      (m) => m.topic === t.commandReplies && m.correlationData?.equals(correlation) === true,
      this.config.timeouts.replyMs,
      (g) => g.length > 0,
    );
    await session.subscribe([t.commandReplies]);
    await session.publish(t.commands, JSON.stringify(command), {
      correlationData: correlation,
      responseTopic: t.commandReplies,
      messageExpiryInterval: Math.ceil(this.config.commandTtlMs / 1000),
    });
    const [answer] = await replied;
    const reply = answer === undefined ? null : replySchema.safeParse(json(answer));
    return {
      outcome: reply === null ? 'no-reply' : 'replied',
      thing,
      region,
      command,
      reply:
        reply?.success === true
          ? reply.data
          : reply === null
            ? null
            : { id, status: 'failed', detail: "a reply that is not Replay's format" },
      elapsedMs: Date.now() - started,
    };
  }

  /** Gateways by their retained presence in every region, plus the config's groups; each with its DR state. */
  async fleet(): Promise<FleetRow[]> {
    const any = thingTopics('+').presence;
    const things = new Set(Object.values(this.config.groups).flat());
    await Promise.all(
      [...this.sessions.values()].map(async (s) => {
        const seen = s.collect(
          (m) => m.retain && /^edgedr\/[^/]+\/presence$/.test(m.topic),
          this.config.timeouts.readMs,
        );
        await s.subscribe([any]);
        for (const m of await seen) {
          const p = presenceSchema.safeParse(json(m));
          things.add(p.success ? p.data.thing : (m.topic.split('/')[1] ?? ''));
        }
      }),
    );
    const rows: FleetRow[] = [];
    for (const thing of [...things].filter((t) => t !== '').sort()) {
      const st = await this.status(thing);
      rows.push({
        thing,
        onlineIn: st.onlineIn,
        activeRegion: st.reported?.activeRegion ?? null,
        backlog: st.reported?.backlog ?? null,
        oldestAgeMs: st.reported?.oldestAgeMs ?? null,
        lastFailover: st.reported?.lastFailover ?? null,
        shadowUpdatedAtMs: st.reported?.updatedAtMs ?? null,
      });
    }
    return rows;
  }

  async close(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.close()));
  }
}
