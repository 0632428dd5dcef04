import type { InferAttributes, Sequelize } from 'sequelize';
import type { Price } from '../feedback/pricing';
import type { BudgetHint } from '../feedback/runContext';
import type { Assignment, Provider, Run } from '../models';
import { CallContext, CallRecord, recordCall } from '../usage/ledger';
import { maxPromptTokens, maxRunCostMicros } from './maxCost';
import { endReservations, Gate, reserveForRun } from './reserve';

// What one run attempt spends: its reservation before the first call, one ledger row per call
// (the repair retry included), and the settlement when the attempt ends. executeRun holds one of
// these per attempt so that the budget logic stays here.

export class RunCharges {
  private costMicros = 0;
  private calls = 0;
  private unpriced = false;
  private ended = false;

  private constructor(
    private readonly sequelize: Sequelize,
    private readonly ctx: CallContext,
    private readonly price: Price,
    private readonly reservationIds: string[],
  ) {}

  /** Reserves the run's maximum cost; `charges` is set only when the run may call the provider. */
  static async open(
    sequelize: Sequelize,
    args: { run: InferAttributes<Run>; assignment: InferAttributes<Assignment>; provider: InferAttributes<Provider>; price: Price; budgets?: BudgetHint; promptChars: number; promptMessages: number; maxTokens: number },
  ): Promise<{ gate: Gate; charges?: RunCharges }> {
    const { run, assignment, provider, price } = args;
    const amount = maxRunCostMicros(price, maxPromptTokens(args.promptChars, args.promptMessages), args.maxTokens);
    const target = { deploymentId: run.deploymentId, providerId: provider.id, instructorUserId: assignment.createdByUserId, assignmentId: assignment.id };
    const gate = await reserveForRun(sequelize, run.id, target, amount, args.budgets);
    if (gate.outcome !== 'go') return { gate };
    const ctx: CallContext = {
      deploymentId: run.deploymentId,
      providerId: provider.id,
      providerKind: provider.kind,
      ownerType: provider.ownerType,
      ownerUserId: provider.ownerUserId,
      instanceId: run.instanceId,
      model: run.instanceSnapshot.model,
      instructorUserId: assignment.createdByUserId,
      assignmentId: assignment.id,
      submissionId: run.submissionId,
      runId: run.id,
    };
    return { gate, charges: new RunCharges(sequelize, ctx, price, gate.reservationIds) };
  }

  /** Appends one provider call to the ledger. */
  async record(call: CallRecord): Promise<void> {
    this.calls += 1;
    const cost = await recordCall('run_call', this.ctx, this.price, call);
    if (cost === null) this.unpriced = true;
    else this.costMicros += cost;
  }

  /** Settles the reservation to what the calls cost (released when none was made); once. */
  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await endReservations(this.sequelize, this.ctx.deploymentId, this.reservationIds, this.calls > 0 && !this.unpriced ? this.costMicros : null);
  }
}
