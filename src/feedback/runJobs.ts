import PgBoss from 'pg-boss';
import { QueryTypes, Sequelize, Transaction } from 'sequelize';
import type { DatabaseSettings } from '../config';

// On PostgreSQL, each run is also a pg-boss job: workers on any machine fetch due jobs with
// SKIP LOCKED, and a job is written in the same transaction as its run row (a rollback leaves
// neither). The run row stays the truth: its lease and token decide who executes it, so a
// duplicated or re-delivered job never makes a second provider call.

export const RUN_QUEUE = 'feedback-run';

export interface RunJob {
  jobId: string;
  runId: string;
}

export class RunJobs {
  private constructor(private readonly boss: PgBoss) {}

  /** Starts pg-boss on this database (creating its schema once); `supervise` only where jobs are worked. */
  static async start(settings: Extract<DatabaseSettings, { dialect: 'postgres' }>, opts: { supervise: boolean }): Promise<RunJobs> {
    const boss = new PgBoss({ connectionString: settings.url, schema: 'pgboss', max: 4, supervise: opts.supervise, schedule: false });
    boss.on('error', () => undefined); // maintenance errors are retried by pg-boss; never crash the process
    await boss.start();
    await boss.createQueue(RUN_QUEUE, { name: RUN_QUEUE, policy: 'standard', retryLimit: 0, expireInSeconds: 3600 });
    return new RunJobs(boss);
  }

  /** Adds one job per run inside the caller's transaction. */
  async enqueue(sequelize: Sequelize, runIds: string[], transaction?: Transaction, startAfter?: Date): Promise<void> {
    if (runIds.length === 0) return;
    const db = {
      executeSql: async (text: string, values: unknown[]) => ({
        // pg-boss passes undefined for unset options; Sequelize's bind wants null.
        rows: await sequelize.query(text, { bind: values.map((v) => (v === undefined ? null : v)), transaction, type: QueryTypes.SELECT }),
      }),
    };
    await this.boss.insert(
      runIds.map((runId) => ({ name: RUN_QUEUE, data: { runId }, singletonKey: runId, ...(startAfter ? { startAfter } : {}) })),
      transaction ? { db } : {},
    );
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
    await this.boss.stop({ graceful: false, wait: true });
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
