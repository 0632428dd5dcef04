import type { Sequelize } from 'sequelize';
import { ConnectionUnavailableError, withProviderAdapter } from '../commands/providerCalls';
import { settingsOf } from '../commands/settings';
import type { Logger } from '../logger';
import { Provider, type Run } from '../models';
import { providerUserId, pseudonymFor } from '../privacy/pseudonym';
import { ProviderError } from '../providers/types';
import type { CompletionResult } from '../providers/types';
import type { Keyring } from '../secrets/keyring';
import { parseRunOutput, repairPrompt } from './output';
import { RunCharges } from '../budgets/runCharges';
import { finishRun, renewLease } from './leases';
import { costMicros } from './pricing';
import { buildPrompt, outputJsonSchema } from './prompt';
import { loadRunContext, type RunContext } from './runContext';
import type { RunOutput } from './types';

// Executes one run exactly once per lease: claim (conditional UPDATE), call with a timeout, validate
// with one repair retry, record tokens/cost/latency, and release the lease. Retryable failures go
// back to the queue with backoff; the rest fail with a normalised reason. No transaction is held
// open across the provider call.

export interface ExecuteDeps {
  sequelize: Sequelize;
  keyring: Keyring;
  logger: Logger;
  leaseMs?: number;
  callTimeoutMs?: number;
  maxAttempts?: number;
  /** First backoff step; doubles per attempt (tests shorten it). */
  retryBaseMs?: number;
}

const RETRYABLE = new Set(['rate_limited', 'unavailable', 'timeout']);
export const DEFAULT_LEASE_MS = 60000;

/** Exponential backoff with full jitter, at least what Retry-After asked, at most a minute. */
export function backoffMs(attempt: number, retryAfterMs?: number, baseMs = 1000): number {
  const ceiling = Math.min(60000, baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  return Math.min(60000, Math.max(jittered, retryAfterMs ?? 0));
}

/**
 * Runs one claimed run to a terminal state or back to the queue; returns the run's new status.
 * `claimed`: the run's context when its claim read it (PostgreSQL); read here otherwise.
 * `stop` (shutdown) aborts the provider call and returns 'running' without writing: the caller
 * then releases the lease (releaseRun).
 */
export async function executeRun(deps: ExecuteDeps, runId: string, token: string, stop?: AbortSignal, claimed?: RunContext): Promise<Run['status']> {
  const context = claimed ?? (await loadRunContext(deps.sequelize, runId));
  if (!context) return 'failed';
  const { run, submission, assignment, provider, deployment } = context;
  if (!submission || !assignment || !deployment) return 'failed';
  if (!provider || !deployment.active || submission.text === null) {
    await finishRun(deps.sequelize, runId, token, { status: 'failed', errorCode: !provider ? 'connection_removed' : 'unavailable', finishedAt: new Date() });
    return 'failed';
  }

  const snapshot = run.instanceSnapshot;
  const defaults = settingsOf(deployment).defaultParams;
  const params = {
    temperature: snapshot.params.temperature ?? defaults.temperature,
    maxTokens: snapshot.params.maxTokens ?? defaults.maxTokens,
    topP: snapshot.params.topP ?? defaults.topP,
  };
  const prompt = buildPrompt({
    assignmentTitle: assignment.title,
    instructions: assignment.instructions,
    rubric: assignment.rubric,
    draftNumber: submission.draftNumber,
    maxDrafts: assignment.maxDrafts,
    previousFeedback: context.previousFeedback,
    submissionText: submission.text,
    systemPrompt: snapshot.params.systemPrompt,
  });
  const structuredOutput = { name: 'rubric_feedback', schema: outputJsonSchema(assignment.rubric) };
  // Budgets: reserve the run's maximum cost before any call (src/budgets). No room: the run waits
  // (never dropped); a budget that forbids unpriced models fails it with that reason.
  const { price } = context;
  const promptChars = prompt.messages.reduce((n, m) => n + m.content.length, 0) + JSON.stringify(structuredOutput.schema).length;
  const { gate, charges } = await RunCharges.open(deps.sequelize, { run, assignment, provider, price, budgets: context.budgets, promptChars, promptMessages: prompt.messages.length, maxTokens: params.maxTokens });
  if (gate.outcome === 'wait') {
    // The claim counted an attempt; waiting for budget is not one.
    await finishRun(deps.sequelize, runId, token, { status: 'budget_wait', errorCode: 'budget_exhausted', notAnAttempt: true });
    return 'budget_wait';
  }
  if (gate.outcome === 'forbidden' || !charges) {
    await finishRun(deps.sequelize, runId, token, { status: 'failed', errorCode: 'budget_forbids_unpriced', finishedAt: new Date() });
    return 'failed';
  }
  // Never the student's identity: a per-deployment salted hash, for providers that take a user field.
  const user = deployment.pseudonymSalt ? pseudonymFor(deployment.pseudonymSalt, submission.userId) : await providerUserId(deployment.id, submission.userId);
  const started = Date.now();
  // Renew the lease while the call runs; if another worker took the run over (our lease had
  // expired), abort: its result will be the only one.
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const lost = new AbortController();
  const heartbeat = setInterval(() => {
    void renewLease(deps.sequelize, runId, token, leaseMs)
      .then((renewed) => {
        if (!renewed) lost.abort();
      })
      .catch(() => undefined);
  }, Math.max(200, Math.floor(leaseMs / 3)));
  let tokensIn = 0;
  let tokensOut = 0;
  let output: RunOutput | null = null;
  let problem = '';

  try {
    await withProviderAdapter(
      deps.keyring,
      provider,
      async (adapter) => {
        const call = async (messages: typeof prompt.messages | Array<{ role: 'system' | 'user' | 'assistant'; content: string }>): Promise<CompletionResult> => {
          // The call's own deadline is the adapter's (callWithDeadline, same timeout); these only cancel it.
          const signal = stop ? AbortSignal.any([lost.signal, stop]) : lost.signal;
          await charges.writeHeld(); // the previous call's ledger row is never held across a call
          const callStarted = Date.now();
          let result: CompletionResult;
          try {
            result = await adapter.complete({ model: snapshot.model, messages, params, structuredOutput, user, signal });
          } catch (err) {
            const outcome = lost.signal.aborted ? 'aborted' : err instanceof ProviderError ? err.code : 'error';
            await charges.record({ tokensIn: 0, tokensOut: 0, latencyMs: Date.now() - callStarted, outcome });
            throw err;
          }
          await charges.record({ tokensIn: result.usage.inputTokens, tokensOut: result.usage.outputTokens, latencyMs: result.latencyMs, outcome: 'ok' });
          tokensIn += result.usage.inputTokens;
          tokensOut += result.usage.outputTokens;
          return result;
        };
        const first = await call(prompt.messages);
        let parsed = parseRunOutput(first.text, assignment.rubric);
        if (!parsed.ok) {
          // One repair retry, then the run is invalid: a score is never invented.
          const repaired = await call([...prompt.messages, { role: 'assistant', content: first.text.slice(0, 20000) }, { role: 'user', content: repairPrompt(parsed.problem) }]);
          parsed = parseRunOutput(repaired.text, assignment.rubric);
        }
        if (parsed.ok) output = parsed.output;
        else problem = parsed.problem;
      },
      { timeoutMs: deps.callTimeoutMs ?? 120000 },
    );
  } catch (err) {
    clearInterval(heartbeat);
    await charges.end();
    const latencyMs = Date.now() - started;
    if (lost.signal.aborted) return 'running'; // another worker owns the run now
    if (stop?.aborted) return 'running'; // shutting down: the worker releases the lease
    if (err instanceof ProviderError) {
      if (err.code === 'auth') await Provider.update({ status: 'invalid', statusReason: 'auth', verifiedAt: new Date() }, { where: { id: provider.id } });
      if (RETRYABLE.has(err.code) && run.attempts < (deps.maxAttempts ?? 4)) {
        await finishRun(deps.sequelize, runId, token, { status: 'queued', errorCode: err.code, nextAttemptAt: new Date(Date.now() + backoffMs(run.attempts, err.retryAfterMs, deps.retryBaseMs)), latencyMs });
        return 'queued';
      }
      await finishRun(deps.sequelize, runId, token, { status: 'failed', errorCode: err.code, latencyMs, finishedAt: new Date(), tokensIn, tokensOut });
      return 'failed';
    }
    if (err instanceof ConnectionUnavailableError) {
      await finishRun(deps.sequelize, runId, token, { status: 'failed', errorCode: err.code, finishedAt: new Date() });
      return 'failed';
    }
    deps.logger.error({ err, runId }, 'run failed unexpectedly');
    await finishRun(deps.sequelize, runId, token, { status: 'failed', errorCode: 'internal', finishedAt: new Date() });
    return 'failed';
  }

  clearInterval(heartbeat);
  // The last call's ledger row is written with the result (one statement on PostgreSQL); end() then
  // has no row left to write, and no reservation to settle when a row was held (RunCharges).
  const ledgerRow = charges.takeHeldRow();
  await charges.end();
  const status = output ? 'succeeded' : 'invalid_output';
  await finishRun(deps.sequelize, runId, token, {
    status,
    output,
    errorCode: output ? null : 'invalid_output',
    tokensIn,
    tokensOut,
    costMicros: costMicros(price, tokensIn, tokensOut),
    latencyMs: Date.now() - started,
    finishedAt: new Date(),
  }, ledgerRow);
  if (!output) deps.logger.info({ runId, problem: problem.slice(0, 200) }, 'run output invalid');
  return status;
}
