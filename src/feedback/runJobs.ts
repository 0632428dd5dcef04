import { EventEmitter } from 'node:events';
import pg from 'pg';
import PgBoss from 'pg-boss';
import type { Sequelize, Transaction } from 'sequelize';
import type { DatabaseSettings } from '../config';
import { driverOf } from '../db/driver';

// On PostgreSQL, each run is also a pg-boss job: workers on any machine fetch due jobs with
// SKIP LOCKED, and a job is written in the same transaction as its run row (a rollback leaves
// neither). The run row stays the truth: its lease and token decide who executes it, so a
// duplicated or re-delivered job never makes a second provider call.

/**
 * The 'short' policy keeps at most one waiting job per run (pg-boss's unique index on the
 * singleton key while a job is created; a second insert is a no-op), so the worker's sweep, which
 * re-sends every due run, adds no duplicates. The first queue, 'feedback-run', had the 'standard'
 * policy, where a singleton key alone dedupes nothing: the fan-out benchmark saw every sweep add a
 * job per queued run, and workers spend the end of a class's batch claiming runs already done.
 * A queue's policy cannot change, hence the new name. The first queue is left as it is (pg-boss
 * refuses to delete a queue that has jobs): nothing fetches from it, and the sweep sends its due
 * runs to this one.
 */
export const RUN_QUEUE = 'feedback-runs';
/**
 * Workers LISTEN here and look for work at once when runs are queued (the NOTIFY is sent with the
 * submission's transaction, so it arrives only once the runs are committed) or when a run ends and
 * frees a connection slot. pg-boss only polls, and a worker holding runs for a connection whose
 * slots another process had freed waited for its next poll: the fan-out benchmark showed it.
 * The payload names the connection whose slot freed (empty when runs were queued): a worker tries
 * the held runs of a connection it found full again only then. (Every wake used to retry every full
 * connection: the fan-out benchmark counted three refused claims, six round trips, per call.)
 */
export const WAKE_CHANNEL = 'feedforward_runs';

export interface RunJob {
  jobId: string;
  runId: string;
}

export class RunJobs {
  /** Emits 'wake' (with the connection's id when a slot freed) when another process queued runs or freed a slot (only where jobs are worked). */
  readonly wakes = new EventEmitter();
  private listener: WakeListener | undefined;

  private constructor(private readonly boss: PgBoss) {}

  /** Starts pg-boss on this database (creating its schema once); `supervise` only where jobs are worked. */
  static async start(settings: Extract<DatabaseSettings, { dialect: 'postgres' }>, opts: { supervise: boolean }): Promise<RunJobs> {
    const boss = new PgBoss({ connectionString: settings.url, schema: 'pgboss', max: 4, supervise: opts.supervise, schedule: false });
    boss.on('error', () => undefined); // maintenance errors are retried by pg-boss; never crash the process
    await boss.start();
    await ensureRunQueue(boss);
    const jobs = new RunJobs(boss);
    if (opts.supervise) jobs.listener = new WakeListener(settings.url, (providerId) => jobs.wakes.emit('wake', providerId));
    return jobs;
  }

  /** Tells every worker to look for work now (sent when `transaction` commits, if given). */
  async notify(sequelize: Sequelize, transaction?: Transaction): Promise<void> {
    const driver = driverOf(sequelize);
    await (transaction ? driver.within(transaction) : driver).all(`SELECT pg_notify('${WAKE_CHANNEL}', '')`);
  }

  /** Tells every worker that connection `providerId` has a free slot (once per finished run: on the driver). */
  async notifySlotFreed(sequelize: Sequelize, providerId: string): Promise<void> {
    await driverOf(sequelize).all(`SELECT pg_notify('${WAKE_CHANNEL}', $1)`, [providerId]);
  }

  /**
   * Adds one job per run; inside the caller's transaction when given (on its connection: a rollback
   * leaves no job), and then the workers are woken when it commits.
   */
  async enqueue(sequelize: Sequelize, runIds: string[], transaction?: Transaction, startAfter?: Date): Promise<void> {
    if (runIds.length === 0) return;
    // On the driver, not sequelize.query: every submission sends these (see src/db/driver.ts).
    const db = transaction && {
      executeSql: async (text: string, values: unknown[]) => ({
        // pg-boss passes undefined for unset options; the driver wants null.
        rows: await driverOf(sequelize).within(transaction).all(text, values.map((v) => (v === undefined ? null : v))),
      }),
    };
    await this.boss.insert(
      runIds.map((runId) => ({ name: RUN_QUEUE, data: { runId }, singletonKey: runId, ...(startAfter ? { startAfter } : {}) })),
      db ? { db } : {},
    );
    if (!startAfter) await this.notify(sequelize, transaction);
  }

  /** Takes up to `max` due jobs (SKIP LOCKED: never the same job to two workers). */
  async fetch(max: number): Promise<RunJob[]> {
    if (max <= 0) return [];
    const jobs = await this.boss.fetch<{ runId: string }>(RUN_QUEUE, { batchSize: max });
    return jobs.map((job) => ({ jobId: job.id, runId: job.data.runId }));
  }

  async complete(jobIds: string[]): Promise<void> {
    if (jobIds.length) await this.boss.complete(RUN_QUEUE, jobIds);
  }

  async stop(): Promise<void> {
    await this.listener?.close();
    await this.boss.stop({ graceful: false, wait: true });
  }
}

/**
 * Creates the run queue unless it exists. pg-boss's create_queue deadlocks when processes starting
 * together on a new database create the same queue (a test starts three): the loser tries again and
 * then finds the queue made.
 */
async function ensureRunQueue(boss: PgBoss): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    if (await boss.getQueue(RUN_QUEUE)) return;
    try {
      await boss.createQueue(RUN_QUEUE, { name: RUN_QUEUE, policy: 'short', retryLimit: 0, expireInSeconds: 3600 });
      return;
    } catch (err) {
      if (attempt >= 5 || (err as { code?: string }).code !== '40P01') throw err;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt + Math.random() * 100));
    }
  }
}

/** One connection that LISTENs on WAKE_CHANNEL, reconnecting after a second when it drops (the worker's poll covers the gap). */
class WakeListener {
  private client: pg.Client | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly onWake: (providerId?: string) => void,
  ) {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.url });
    this.client = client;
    client.on('notification', (message) => this.onWake(message.payload || undefined));
    client.on('error', () => this.reconnect(client));
    client.on('end', () => this.reconnect(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${WAKE_CHANNEL}`);
      this.onWake(); // anything queued while not listening
    } catch {
      this.reconnect(client);
    }
  }

  private reconnect(client: pg.Client): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    this.retry = setTimeout(() => void this.connect(), 1000);
    this.retry.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}

// The job queue of each database connection. Keyed by the Sequelize instance (not a global) so that
// two apps on two databases in one process never share a queue.
const registry = new WeakMap<Sequelize, RunJobs>();

export function registerRunJobs(sequelize: Sequelize, jobs: RunJobs): void {
  registry.set(sequelize, jobs);
}

/** The pg-boss queue of this database, or undefined on SQLite (the in-process worker polls the runs table). */
export function runJobsFor(sequelize: Sequelize): RunJobs | undefined {
  return registry.get(sequelize);
}

/** Starts and registers the queue when the database is PostgreSQL; returns it (or undefined). */
export async function startRunJobs(sequelize: Sequelize, settings: DatabaseSettings, opts: { supervise: boolean }): Promise<RunJobs | undefined> {
  if (settings.dialect !== 'postgres') return undefined;
  const existing = registry.get(sequelize);
  if (existing) return existing;
  const jobs = await RunJobs.start(settings, opts);
  registerRunJobs(sequelize, jobs);
  return jobs;
}

/** Stops and forgets this database's queue, if any. */
export async function stopRunJobs(sequelize: Sequelize): Promise<void> {
  const jobs = registry.get(sequelize);
  registry.delete(sequelize);
  await jobs?.stop();
}
