import { randomBytes } from 'node:crypto';
import { dirname, isAbsolute, join } from 'node:path';
import type { ComponentDeps, RunningService } from '../../../shared/src/component/run';
import { periodic } from '../../../shared/src/component/periodic';
import { DrError, isDrError, toDrError } from '../../../shared/src/errors';
import { readObject } from '../../../shared/src/messages/documents';
import type { Subscription } from '../../../shared/src/runtime/port';
import {
  BUFFER_COMPONENT,
  BUFFER_WORK_PATH_ENV,
  DEFAULT_STORE_PATH,
} from '../../../shared/src/store/location';
import { diskUnder } from './adapters/disk';
import { StatusHttpServer } from './adapters/http-server';
import { assetsDir, buildPage, type StatusPage } from './adapters/page';
import { readTokenFile } from './adapters/token-file';
import { readTlsFiles, type TlsFiles, type TlsSettings } from './adapters/tls-files';
import { isLoopback } from './auth';
import type { StatusConfig } from './config';
import { StatusModel, WATCHED, type DocumentKind, type WatchedComponent } from './core/status-model';

/** The configuration key each watched component publishes its interval under. */
const INTERVAL_KEY: Readonly<Record<WatchedComponent, string>> = {
  'com.edgedr.Buffer': 'metricsIntervalMs',
  'com.edgedr.Ingest': 'metricsIntervalMs',
  'com.edgedr.Inference': 'metricsIntervalMs',
  'com.edgedr.Replay': 'statusIntervalMs',
};

const RETRY_LISTEN_MAX_MS = 60_000;
/** A certificate this close to its end is warned about at every start and renewal. */
const EXPIRY_WARNING_MS = 14 * 86_400_000;
/** And warned about again this often while it is. */
const EXPIRY_REPEAT_MS = 86_400_000;

interface CertificateInUse {
  readonly files: TlsSettings;
  readonly fingerprint: string;
  readonly subject: string;
  readonly names: string;
  readonly notAfter: Date;
  /** When its expiry was last warned about. */
  warnedAtMs: number;
}

function certificateInUse(files: TlsSettings, read: Extract<TlsFiles, { ok: true }>): CertificateInUse {
  const { fingerprint, subject, names, notAfter } = read;
  return { files, fingerprint, subject, names, notAfter, warnedAtMs: Number.NEGATIVE_INFINITY };
}

/**
 * The status page: subscribes to the suite's documents (and nothing else: it publishes nothing and
 * opens no store), keeps the last hour in a bounded model, and serves it over HTTP. It holds no region
 * credentials and no store handle, so what listens on the network cannot reach either.
 */
export class StatusService implements RunningService<StatusConfig> {
  private config: Readonly<StatusConfig>;
  private model: StatusModel;
  private readonly page: StatusPage;
  private server: StatusHttpServer | undefined;
  private subscriptions: Subscription[] = [];
  private token: { value: string | null; mtimeMs: number } = { value: null, mtimeMs: 0 };
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private listenRetry: NodeJS.Timeout | undefined;
  private listenAttempts = 0;
  /** The certificate in use and the files it came from; null on plain HTTP. */
  private cert: CertificateInUse | null = null;
  /** Its files were found unusable (said once until they change). */
  private certFilesUnusable = false;

  static async start(deps: ComponentDeps<StatusConfig>): Promise<StatusService> {
    const service = new StatusService(deps);
    await service.subscribe();
    await service.probe();
    await service.listen();
    return service;
  }

  private constructor(private readonly deps: ComponentDeps<StatusConfig>) {
    this.config = deps.config;
    this.model = this.newModel(deps.config);
    this.page = buildPage(assetsDir(__dirname));
    this.loadToken();
    this.loops.push(
      periodic(
        deps.clock,
        () => this.config.probeIntervalMs,
        () => this.probe(),
        this.abort.signal,
      ),
    );
  }

  private newModel(config: Readonly<StatusConfig>): StatusModel {
    return new StatusModel(
      {
        historyMs: config.historyMs,
        bucketMs: config.bucketMs,
        staleAfterIntervals: config.staleAfterIntervals,
        rateWindowMs: config.rateWindowMs,
      },
      this.deps.clock.nowMs(),
    );
  }

  private async subscribe(): Promise<void> {
    const { runtime, logger } = this.deps;
    for (const [kind, topic] of Object.entries(this.config.topics) as [DocumentKind, string][]) {
      this.subscriptions.push(
        await runtime.subscribe(topic, (message) => {
          const doc = readObject(message);
          if (doc === undefined) {
            logger.debug({ topic }, 'ignoring a message that is not a JSON object');
            return;
          }
          this.model.receive(kind, doc, this.deps.clock.nowMs());
        }),
      );
    }
  }

  /**
   * The token from its file, re-read when the file changes (a rotated token applies without a restart).
   * A file that turns unreadable or too open locks the page: the token in force becomes a random one
   * nobody has, so every request gets 401, rather than the page opening up.
   */
  private loadToken(): void {
    const path = this.config.tokenPath;
    if (path === null) {
      this.token = { value: null, mtimeMs: 0 };
      return;
    }
    const file = readTokenFile(path);
    if (!file.ok) {
      if (this.token.mtimeMs !== -1)
        this.deps.logger.error({ problem: file.problem }, 'token unusable: every request is refused');
      this.token = { value: randomBytes(32).toString('base64url'), mtimeMs: -1 };
      return;
    }
    if (file.mtimeMs === this.token.mtimeMs) return;
    if (this.token.mtimeMs !== 0)
      this.deps.logger.info({ tokenPath: path }, 'token file changed: the new token applies');
    this.token = { value: file.token, mtimeMs: file.mtimeMs };
  }

  /** The free disk under the store, the watched components' intervals (and whether they are deployed). */
  private async probe(): Promise<void> {
    const { runtime, clock, logger } = this.deps;
    if (this.config.tokenPath !== null) this.loadToken();
    this.reloadCertificate();
    this.checkExpiry(false);
    let storePath: string = DEFAULT_STORE_PATH;
    for (const name of WATCHED) {
      try {
        const cfg = (await runtime.getConfiguration([], name)) as Record<string, unknown>;
        const interval = cfg[INTERVAL_KEY[name]];
        const ms = typeof interval === 'number' ? interval : Number(interval);
        this.model.configured(name, true, Number.isFinite(ms) ? ms : null);
        if (name === BUFFER_COMPONENT && typeof cfg['storePath'] === 'string') storePath = cfg['storePath'];
      } catch (err) {
        const e = toDrError(err);
        this.model.configured(name, isDrError(e, 'IPC_NOT_FOUND') ? false : null, null);
        if (!isDrError(e, 'IPC_NOT_FOUND'))
          logger.debug({ err: e, component: name }, 'configuration not read');
      }
    }
    const workPath = process.env[BUFFER_WORK_PATH_ENV];
    const storeDir = isAbsolute(storePath)
      ? dirname(storePath)
      : workPath !== undefined && workPath !== ''
        ? dirname(join(workPath, storePath))
        : runtime.workDir;
    const disk = diskUnder(storeDir);
    if (disk !== undefined) this.model.diskReading(disk, clock.nowMs());
  }

  snapshot(sinceMs?: number): Record<string, unknown> {
    const memory = process.memoryUsage();
    return {
      thing: this.deps.runtime.thingName,
      ...this.model.snapshot(this.deps.clock.nowMs(), sinceMs),
      page: {
        pushIntervalMs: this.config.pushIntervalMs,
        historyMs: this.config.historyMs,
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
      },
    };
  }

  /**
   * Listens; a port that is taken (another program, or the previous process not gone yet) is retried
   * with a capped backoff instead of ending the component: three quick exits would make it BROKEN.
   */
  private async listen(): Promise<void> {
    const { logger } = this.deps;
    const config = this.config;
    try {
      let tls: { cert: Buffer; key: Buffer } | undefined;
      if (config.tls !== null) {
        const files = readTlsFiles(config.tls);
        if (!files.ok) throw new DrError('STATUS_LISTEN_FAILED', files.problem);
        tls = { cert: files.cert, key: files.key };
        // Said once per certificate, not again on every retry of a taken port.
        if (this.cert?.fingerprint !== files.fingerprint) {
          this.cert = certificateInUse(config.tls, files);
          this.checkExpiry(true);
        } else this.cert = { ...this.cert, files: config.tls };
        this.certFilesUnusable = false;
      } else this.cert = null;
      this.server = await StatusHttpServer.listen({
        host: config.listenAddress,
        port: config.port,
        page: this.page,
        token: () => this.token.value,
        snapshot: (sinceMs) => this.snapshot(sinceMs),
        pushIntervalMs: () => this.config.pushIntervalMs,
        maxClients: config.maxClients,
        onError: (err) => logger.error({ err: toDrError(err) }, 'status page server fault'),
        tls,
      });
      this.listenAttempts = 0;
      const { host, port } = this.server.address;
      logger.info(
        {
          url: `${this.server.scheme}://${host.includes(':') ? `[${host}]` : host}:${port}/`,
          tokenRequired: config.tokenPath !== null,
          tls: tls !== undefined,
        },
        'status page listening',
      );
      if (tls === undefined && !isLoopback(config.listenAddress))
        logger.warn(
          { listenAddress: config.listenAddress },
          'plain HTTP beyond loopback: the token and the page cross the network in clear; set tls to serve HTTPS',
        );
    } catch (err) {
      const e = isDrError(err, 'STATUS_LISTEN_FAILED')
        ? err
        : new DrError(
            'STATUS_LISTEN_FAILED',
            `cannot listen on ${config.listenAddress}:${config.port}: ${String(err)}`,
            { cause: err },
          );
      this.listenAttempts += 1;
      const delayMs = Math.min(RETRY_LISTEN_MAX_MS, 1_000 * 2 ** Math.min(this.listenAttempts, 6));
      logger.error({ err: e, retryInMs: delayMs }, 'status page not listening; retrying');
      if (this.abort.signal.aborted) return;
      this.listenRetry = setTimeout(() => void this.listen(), delayMs);
    }
  }

  /**
   * A certificate that has expired or will within 14 days is warned about when it comes into use and
   * then once a day; `announce` also logs one that is fine (when it comes into use).
   */
  private checkExpiry(announce: boolean): void {
    const cert = this.cert;
    if (cert === null) return;
    const { logger, clock } = this.deps;
    const now = clock.nowMs();
    const left = cert.notAfter.getTime() - now;
    const info = { subject: cert.subject, names: cert.names, notAfter: cert.notAfter.toISOString() };
    if (left >= EXPIRY_WARNING_MS) {
      if (announce) logger.info(info, 'certificate in use');
      return;
    }
    if (now - cert.warnedAtMs < EXPIRY_REPEAT_MS) return;
    cert.warnedAtMs = now;
    if (left <= 0) logger.warn(info, 'the certificate has expired: browsers will warn; renew it');
    else logger.warn({ ...info, daysLeft: Math.floor(left / 86_400_000) }, 'the certificate expires soon');
  }

  /**
   * A renewed certificate (its files' contents changed) applies to new connections without a restart.
   * Files that turn unusable keep the certificate in force: unlike a token, an old certificate opens
   * nothing. The files are those the server was started with, until a new configuration restarts it.
   */
  private reloadCertificate(): void {
    const cert = this.cert;
    if (cert === null || this.server === undefined || this.server.scheme !== 'https') return;
    const unusable = (problem: string): void => {
      if (!this.certFilesUnusable)
        this.deps.logger.error({ problem }, 'certificate files unusable: the certificate in force stays');
      this.certFilesUnusable = true;
    };
    const files = readTlsFiles(cert.files);
    if (!files.ok) {
      unusable(files.problem);
      return;
    }
    if (files.fingerprint === cert.fingerprint) {
      this.certFilesUnusable = false;
      return;
    }
    try {
      this.server.replaceCertificate(files);
    } catch (err) {
      unusable(`${cert.files.certPath}: ${String(err)}`);
      return;
    }
    this.certFilesUnusable = false;
    this.cert = certificateInUse(cert.files, files);
    this.deps.logger.info(
      { certPath: cert.files.certPath },
      'certificate files changed: the new certificate applies',
    );
    this.checkExpiry(true);
  }

  async applyConfig(config: Readonly<StatusConfig>): Promise<void> {
    const previous = this.config;
    this.config = config;
    this.loadToken();
    if (JSON.stringify(previous.topics) !== JSON.stringify(config.topics)) {
      await Promise.all(this.subscriptions.map((s) => s.close().catch(() => undefined)));
      this.subscriptions = [];
      await this.subscribe();
    }
    if (previous.historyMs !== config.historyMs || previous.bucketMs !== config.bucketMs)
      this.model = this.newModel(config);
    const relisten =
      previous.listenAddress !== config.listenAddress ||
      previous.port !== config.port ||
      previous.maxClients !== config.maxClients ||
      previous.pushIntervalMs !== config.pushIntervalMs ||
      JSON.stringify(previous.tls) !== JSON.stringify(config.tls);
    if (relisten) {
      clearTimeout(this.listenRetry);
      await this.server?.close();
      this.server = undefined;
      await this.listen();
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    clearTimeout(this.listenRetry);
    await Promise.all(this.loops);
    await Promise.all(this.subscriptions.map((s) => s.close().catch(() => undefined)));
    await this.server?.close();
  }
}
