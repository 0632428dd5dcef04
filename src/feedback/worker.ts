import { releaseSubmission } from '../commands/release';
import type { Ltijs } from '../lti/ltijs';
import { Run } from '../models';
import { dueRuns, runsByIds, type DueRun } from './dueRuns';
import { budgetHousekeeping } from '../budgets/housekeeping';
import { scheduleRetention, type RetentionSchedule } from '../privacy/retention';
import { claimRunWithinLimit } from './connectionSlots';
import { DEFAULT_LEASE_MS, executeRun, ExecuteDeps } from './executeRun';
import { releaseRun } from './leases';
import type { RunContext } from './runContext';
import { finalizeIfComplete } from './finalize';
import { runQueue } from './queue';
import { RunJobs, runJobsFor } from './runJobs';

// The run worker: finds due runs in the database (queued, or running with an expired lease — a
// crashed process's work), claims each with a conditional update, and executes it with at most
// `concurrencyPerConnection` runs in flight per provider connection across all processes (see
// connectionSlots.ts). Several worker processes can share one database: a claim succeeds for
// exactly one of them.

export interface WorkerOptions extends ExecuteDeps {
  lti: Ltijs;
  concurrencyPerConnection?: number;
  /** Calls started per provider connection per minute in this process; 0 or unset: no limit. */
  ratePerMinute?: number;
  pollMs?: number;
  /** How often this worker releases crashed runs' reservations and re-queues runs waiting for budget. */
  budgetCheckMs?: number;
  /** How often this worker removes expired submission texts (hourly by default); 0: never. */
  retentionEveryMs?: number;
}

/** How long a PostgreSQL worker holds a run whose connection is full before handing it back to pg-boss. */
const HOLD_MS = 2000;

export class FeedbackWorker {
  private readonly inFlightByProvider = new Map<string, number>();
  /** Start times of recent calls per connection, for the per-minute rate. */
  private readonly startsByProvider = new Map<string, number[]>();
  private readonly inFlight = new Set<Promise<void>>();
  /** Runs of each submission executing in this process (the last to end checks whether the submission is complete). */
  private readonly runningBySubmission = new Map<string, number>();
  /** Lease token of each run this process is executing, to release on shutdown. */
  private readonly leases = new Map<string, string>();
  private readonly stopping = new AbortController();
  private currentTick: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private again = false;
  private stopped = true;
  /**
   * PostgreSQL: connections known to be full: a claim was refused (full in some process), or took
   * their last slot. Their held runs are not tried again until the connection frees a slot (a wake
   * naming it) or the next poll.
   */
  private readonly fullConnections = new Set<string>();
  /** PostgreSQL: connections with a slot freed since the last look (see takeJobs). */
  private readonly freedConnections = new Set<string>();
  /** PostgreSQL: runs may wait in pg-boss that no freed slot accounts for (runs queued, or the poll); cleared by a fetch. */
  private jobsMayWait = true;
  private readonly wake = () => this.slotWake();
  private readonly slotWake = (providerId?: string) => {
    if (providerId) {
      this.fullConnections.delete(providerId);
      this.freedConnections.add(providerId);
    } else this.jobsMayWait = true;
    void this.tick();
  };
  private readonly pollWake = () => {
    this.fullConnections.clear(); // slots also free when a crashed worker's leases expire
    this.jobsMayWait = true;
    void this.tick();
  };
  /** pg-boss on PostgreSQL; undefined on SQLite, where the runs table is polled directly. */
  private jobs: RunJobs | undefined;
  private lastSweep = 0;
  /** PostgreSQL: runs whose jobs this process took, waiting for a free slot on their connection. */
  private readonly held = new Map<string, { run: DueRun; since: number }>();
  private lastBudgetCheck = 0;
  private retention: RetentionSchedule | undefined;

  constructor(private readonly opts: WorkerOptions) {}

  start(): void {
    this.stopped = false;
    this.jobs = runJobsFor(this.opts.sequelize);
    runQueue.on('queued', this.wake);
    this.jobs?.wakes.on('wake', this.slotWake);
    this.timer = setInterval(this.pollWake, this.opts.pollMs ?? 1000);
    this.timer.unref();
    this.wake();
    this.retention = scheduleRetention(this.opts);
  }

  /**
   * Stops taking work and lets calls in flight finish for up to graceMs; then aborts the rest and
   * releases their runs (queued again, lease cleared, job re-sent) so another worker takes them at
   * once. Returns how many runs were released.
   */
  async stop(graceMs = 30000): Promise<{ released: number }> {
    this.stopped = true;
    runQueue.off('queued', this.wake);
    this.jobs?.wakes.off('wake', this.slotWake);
    if (this.timer) clearInterval(this.timer);
    await this.retention?.stop();
    await this.currentTick;
    if (this.jobs && this.held.size) {
      // Their jobs are completed: send them again so another worker takes them now, not at its next sweep.
      await this.jobs.enqueue(this.opts.sequelize, [...this.held.keys()]).catch(() => undefined);
      this.held.clear();
    }
    await settleWithin([...this.inFlight], graceMs);
    if (this.leases.size === 0) return { released: 0 };
    const interrupted = [...this.leases];
    this.stopping.abort();
    await settleWithin([...this.inFlight], 5000);
    const released: string[] = [];
    for (const [runId, token] of interrupted) {
      if (await releaseRun(this.opts.sequelize, runId, token).catch(() => false)) released.push(runId);
    }
    if (this.jobs && released.length) await this.jobs.enqueue(this.opts.sequelize, released).catch((err: unknown) => this.opts.logger.warn({ err }, 'released runs not re-sent; the sweep will find them'));
    if (released.length) this.opts.logger.info({ released: released.length }, 'runs released for other workers');
    return { released: released.length };
  }

  /** Resolves when nothing is in flight (tests and benchmarks). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0 || this.ticking) await Promise.allSettled([...this.inFlight, new Promise((r) => setTimeout(r, 10))]);
  }

  get activeCalls(): number {
    return this.inFlight.size;
  }

  private capacity(providerId: string): number {
    const concurrency = (this.opts.concurrencyPerConnection ?? 4) - (this.inFlightByProvider.get(providerId) ?? 0);
    const rate = this.opts.ratePerMinute ?? 0;
    if (!rate) return concurrency;
    const now = Date.now();
    const recent = (this.startsByProvider.get(providerId) ?? []).filter((t) => now - t < 60000);
    this.startsByProvider.set(providerId, recent);
    if (recent.length >= rate) {
      // Look again when the oldest call leaves the window.
      setTimeout(this.wake, 60000 - (now - recent[0]!) + 5).unref();
    }
    return Math.min(concurrency, rate - recent.length);
  }

  private tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.ticking) {
      this.again = true;
      return this.currentTick;
    }
    this.ticking = true;
    this.currentTick = this.poll();
    return this.currentTick;
  }

  private async poll(): Promise<void> {
    try {
      do {
        this.again = false;
        if (Date.now() - this.lastBudgetCheck > (this.opts.budgetCheckMs ?? 10000)) {
          this.lastBudgetCheck = Date.now();
          await budgetHousekeeping(this.opts.sequelize);
        }
        if (this.jobs) {
          await this.takeJobs(this.jobs);
          continue;
        }
        // Woken on every finished run: read only runs of connections with room in this process,
        // as plain rows straight from the driver (this runs once per finished run).
        const fullHere = [...this.inFlightByProvider].filter(([, n]) => n >= (this.opts.concurrencyPerConnection ?? 4)).map(([id]) => id);
        const due = await dueRuns(this.opts.sequelize, 200, fullHere);
        const full = new Set<string>(); // connections at their limit in some process: skip them this round
        for (const run of due) {
          if (this.stopped) return;
          if (full.has(run.providerId) || this.capacity(run.providerId) <= 0) continue;
          const claim = await this.claim(run);
          if (claim === 'busy') full.add(run.providerId);
          else if (typeof claim === 'object') this.launch(run.id, run.providerId, run.submissionId, claim.token, claim.context);
        }
      } while (this.again && !this.stopped);
    } catch (err) {
      this.opts.logger.error({ err }, 'worker poll failed');
    } finally {
      this.ticking = false;
    }
  }

  /**
   * PostgreSQL: take due jobs from pg-boss (SKIP LOCKED, so each job goes to one worker) and hold
   * their runs here until their connection has a free slot; each is then claimed exactly as on
   * SQLite. The jobs are completed at once: the run rows (status, lease) carry the work from here,
   * and a run held by a process that dies is still queued, so the periodic sweep, which re-sends
   * jobs for due runs, hands it to another worker. (Sending a job back to pg-boss with a delay when
   * its connection was full kept slots idle: the fan-out benchmark.)
   */
  private async takeJobs(jobs: RunJobs): Promise<void> {
    if (Date.now() - this.lastSweep > 5000) {
      this.lastSweep = Date.now();
      // Not the runs held here: their jobs are done, so pg-boss would take them as new ones.
      await jobs.enqueue(this.opts.sequelize, (await dueRuns(this.opts.sequelize, 500)).map((r) => r.id).filter((id) => !this.held.has(id)));
    }
    // Held too long (their connection stays full in other processes): back to pg-boss, so that they
    // never keep this worker from fetching runs of other connections.
    const stale = [...this.held.values()].filter((h) => Date.now() - h.since > HOLD_MS);
    if (stale.length) {
      for (const h of stale) this.held.delete(h.run.id);
      await jobs.enqueue(this.opts.sequelize, stale.map((h) => h.run.id));
    }
    // A freed slot goes to a run held here first, before the round trips of fetching more.
    const freed = [...this.freedConnections];
    this.freedConnections.clear();
    const served = await this.claimHeld();
    let calls = 0;
    for (const n of this.inFlightByProvider.values()) calls += n;
    const concurrency = this.opts.concurrencyPerConnection ?? 4;
    const room = concurrency * 2 - calls - this.held.size;
    // Fetch in batches: when a held run took the freed slot, wait until there is room for half a
    // connection's worth of jobs (each fetch is three round trips, pg-boss's sorting all waiting jobs
    // among them; fetching one job per finished run was a third of the PostgreSQL fan-out's queries).
    // At once when a freed slot is still free (no run held for it), or runs may wait that no freed
    // slot accounts for (that stays so until a fetch, however long this worker has no room).
    const unserved = freed.some((id) => !served.has(id) && !this.fullConnections.has(id));
    if (room <= 0 || !(this.jobsMayWait || unserved || room >= Math.max(1, Math.floor(concurrency / 2)))) return;
    this.jobsMayWait = false;
    const fetched = await jobs.fetch(room);
    if (fetched.length) {
      const since = Date.now();
      // A job names its run only (nothing in pg-boss's tables leads to a student: the privacy export's check).
      for (const run of await runsByIds(this.opts.sequelize, fetched.map((j) => j.runId))) this.held.set(run.id, { run, since });
      const completed = jobs.complete(fetched.map((j) => j.jobId));
      await this.claimHeld();
      await completed;
    }
    // A full batch: look again at once (the claims just made may have left room).
    if (fetched.length === room) this.again = true;
  }

  /** Claims held runs while their connections have free slots (a connection found full is skipped until it frees one); returns the connections it claimed for. */
  private async claimHeld(): Promise<Set<string>> {
    const served = new Set<string>();
    for (const { run } of [...this.held.values()]) {
      if (this.stopped) return served;
      if (this.fullConnections.has(run.providerId) || this.capacity(run.providerId) <= 0) continue;
      const claim = await this.claim(run);
      if (claim === 'busy') {
        this.fullConnections.add(run.providerId);
        continue;
      }
      this.held.delete(run.id);
      if (typeof claim !== 'object') continue;
      // Its last slot: no claim on it until one frees (a claim there would only be refused).
      if (claim.slotsLeft === 0) this.fullConnections.add(run.providerId);
      served.add(run.providerId);
      this.launch(run.id, run.providerId, run.submissionId, claim.token, claim.context);
    }
    return served;
  }

  private claim(run: { id: string; providerId: string }) {
    return claimRunWithinLimit(this.opts.sequelize, run, this.opts.concurrencyPerConnection ?? 4, this.opts.leaseMs ?? DEFAULT_LEASE_MS);
  }

  private launch(runId: string, providerId: string, submissionId: string, token: string, context?: RunContext): void {
    this.inFlightByProvider.set(providerId, (this.inFlightByProvider.get(providerId) ?? 0) + 1);
    this.startsByProvider.set(providerId, [...(this.startsByProvider.get(providerId) ?? []), Date.now()]);
    this.leases.set(runId, token);
    let slotFreed = false;
    // The run's slot is free once its result is written: give it to the next run at once, before the
    // bookkeeping below (finalising a submission takes several queries; the fan-out benchmark saw the
    // slot idle meanwhile).
    const freeSlot = () => {
      if (slotFreed) return;
      slotFreed = true;
      this.inFlightByProvider.set(providerId, (this.inFlightByProvider.get(providerId) ?? 1) - 1);
      this.slotWake(providerId);
      // Other worker processes may hold runs for this connection; not needed when this one does
      // (its tick, just started, takes the slot).
      if (this.jobs && ![...this.held.values()].some((h) => h.run.providerId === providerId)) {
        void this.jobs.notifySlotFreed(this.opts.sequelize, providerId).catch(() => undefined);
      }
    };
    this.runningBySubmission.set(submissionId, (this.runningBySubmission.get(submissionId) ?? 0) + 1);
    const work = (async () => {
      const status = await executeRun(this.opts, runId, token, this.stopping.signal, context).finally(() => {
        const left = (this.runningBySubmission.get(submissionId) ?? 1) - 1;
        if (left > 0) this.runningBySubmission.set(submissionId, left);
        else this.runningBySubmission.delete(submissionId);
      });
      if (status === 'running') return; // taken over by another worker, or interrupted by stop()
      this.leases.delete(runId);
      freeSlot();
      this.opts.logger.info({ runId, status }, 'run executed');
      if (status === 'budget_wait') return; // queued again when room frees up (src/budgets/waiters.ts)
      if (status === 'queued') {
        // Wake when the backoff ends (the poll would find it too, a little later).
        const run = await Run.findByPk(runId, { attributes: ['nextAttemptAt'] });
        const delay = run?.nextAttemptAt ? Math.max(0, run.nextAttemptAt.getTime() - Date.now()) : 1000;
        if (this.jobs) await this.jobs.enqueue(this.opts.sequelize, [runId], undefined, new Date(Date.now() + delay));
        setTimeout(this.wake, delay + 5).unref();
        return;
      }
      // Another run of this submission still executing here checks when it ends (whatever its end:
      // a run that returns without a final state is ended later by a run that checks).
      if (this.runningBySubmission.has(submissionId)) return;
      const outcome = await finalizeIfComplete(submissionId);
      if (outcome.finalized && outcome.autoRelease) await releaseSubmission({ lti: this.opts.lti }, outcome.submission, outcome.assignment, null);
    })()
      .catch((err: unknown) => this.opts.logger.error({ err, runId }, 'run handling failed'))
      .finally(() => {
        if (!this.stopping.signal.aborted) this.leases.delete(runId);
        this.inFlight.delete(work);
        freeSlot();
      });
    this.inFlight.add(work);
  }
}

/** Waits until every promise settles or `ms` pass, whichever comes first. */
async function settleWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
  if (promises.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.allSettled(promises), new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); })]);
  if (timer) clearTimeout(timer);
}
