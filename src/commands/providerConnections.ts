import { randomUUID } from 'node:crypto';
import type { Sequelize } from 'sequelize';
import { conflict, forbidden, notFound } from '../errors';
import type { LaunchSession } from '../lti/session';
import { ModelInstance, Provider } from '../models';
import type { OwnerType, ProviderApiConfig, ProviderStatus } from '../models/Provider';
import { outboundUrlProblem } from '../net/outboundUrl';
import { canManage, ownerFor, requireId, visibleTo } from '../policies/ownership';
import { providerKindSpec } from '../providers/registry';
import type { ProviderErrorCode, ProviderKind } from '../providers/types';
import type { Keyring } from '../secrets/keyring';
import { providerBinding } from '../secrets/storedSecrets';
import { keyFingerprint, keyHint, seal } from '../secrets/vault';
import { recordVerifyCall } from '../usage/ledger';
import { recordAudit } from './audit';
import { forgetProviderAdapters, withProviderAdapter } from './providerCalls';
import { settingsOf } from './settings';
import { fieldError } from './validation';

// Provider connections: a provider kind plus its API key, sealed through src/secrets/ at once and
// never returned. Saving without a new key keeps the stored one.

export interface ConnectionDeps {
  sequelize: Sequelize;
  keyring: Keyring;
  allowLocalUrls: boolean;
}

export interface ConnectionInput {
  kind: ProviderKind;
  label: string;
  apiKey: string;
  baseUrl?: string;
  organization?: string;
  project?: string;
  scope: OwnerType;
}

export type ConnectionChanges = Partial<Omit<ConnectionInput, 'kind' | 'scope'>> & { disabled?: boolean };

/** Everything this session can see, system first. */
export async function listConnections(session: LaunchSession): Promise<Provider[]> {
  return Provider.findAll({ where: visibleTo(session), order: [['ownerType', 'DESC'], ['label', 'ASC']] });
}

/** A connection this session can see, or 404 (another tenant's or instructor's looks like nothing). */
export async function findConnection(session: LaunchSession, id: unknown): Promise<Provider> {
  const found = await Provider.findOne({ where: { id: requireId(id), ...visibleTo(session) } });
  if (!found) throw notFound('No such provider connection.');
  return found;
}

function requireManage(session: LaunchSession, provider: Provider): void {
  if (!canManage(session, provider)) throw forbidden('Only an administrator can change the institution\u2019s connections.');
}

function checkBaseUrl(session: LaunchSession, kind: ProviderKind, baseUrl: string | undefined, allowLocalUrls: boolean): string | undefined {
  const spec = providerKindSpec(kind);
  if (!baseUrl) {
    if (spec.defaultBaseUrl === null) throw fieldError('baseUrl', `is required for ${spec.label}`);
    return undefined;
  }
  const allowedHosts = settingsOf(session.deployment).allowedLocalHosts;
  const problem = outboundUrlProblem(baseUrl, { allowLocalhost: allowLocalUrls, allowedHosts });
  if (problem) throw fieldError('baseUrl', problem);
  return baseUrl.replace(/\/+$/, '');
}

function checkKey(kind: ProviderKind, apiKey: string): void {
  const problem = providerKindSpec(kind).keyProblem(apiKey);
  if (problem) throw fieldError('apiKey', problem);
}

function checkOrganization(kind: ProviderKind, input: { organization?: string; project?: string }): void {
  if (!providerKindSpec(kind).supportsOrganization && (input.organization || input.project)) {
    throw fieldError(input.organization ? 'organization' : 'project', 'is only used by OpenAI connections');
  }
}

/** Creates a connection in the given scope (system: admins only) with its key sealed to the new row. */
export async function createConnection(deps: ConnectionDeps, session: LaunchSession, input: ConnectionInput): Promise<Provider> {
  if (input.scope === 'system' && session.role !== 'admin') throw forbidden('Only an administrator can add institution connections.');
  checkKey(input.kind, input.apiKey);
  const baseUrl = checkBaseUrl(session, input.kind, input.baseUrl, deps.allowLocalUrls);
  checkOrganization(input.kind, input);
  const id = randomUUID();
  const owner = ownerFor(session, input.scope);
  const apiConfig: ProviderApiConfig = {
    ...(baseUrl ? { baseUrl } : {}),
    ...(input.organization ? { organization: input.organization } : {}),
    ...(input.project ? { project: input.project } : {}),
    secret: seal(deps.keyring, providerBinding({ id, deploymentId: session.deployment.id, ...owner }), input.apiKey),
  };
  return deps.sequelize.transaction(async (transaction) => {
    const provider = await Provider.create(
      { id, deploymentId: session.deployment.id, kind: input.kind, label: input.label, ...owner, apiConfig, keyHint: keyHint(input.apiKey), keyFingerprint: keyFingerprint(input.apiKey) },
      { transaction },
    );
    await recordAudit(session, { action: 'provider.create', targetType: 'provider', targetId: id, details: { label: input.label, kind: input.kind, scope: input.scope } }, transaction);
    return provider;
  });
}

/** Applies changes; a new key is sealed and resets the verification status, no key keeps the stored one. */
export async function updateConnection(deps: ConnectionDeps, session: LaunchSession, provider: Provider, changes: ConnectionChanges): Promise<Provider> {
  requireManage(session, provider);
  const kind = provider.kind as ProviderKind;
  const apiConfig: ProviderApiConfig = { ...provider.apiConfig };
  const update: Partial<Provider> = {};
  if (changes.label !== undefined) update.label = changes.label;
  if (changes.disabled !== undefined) update.disabled = changes.disabled;
  if (changes.baseUrl !== undefined) {
    const baseUrl = checkBaseUrl(session, kind, changes.baseUrl || undefined, deps.allowLocalUrls);
    if (baseUrl) apiConfig.baseUrl = baseUrl;
    else delete apiConfig.baseUrl;
  }
  checkOrganization(kind, changes);
  for (const field of ['organization', 'project'] as const) {
    if (changes[field] === undefined) continue;
    if (changes[field]) apiConfig[field] = changes[field];
    else delete apiConfig[field];
  }
  const newKey = changes.apiKey;
  if (newKey) {
    checkKey(kind, newKey);
    apiConfig.secret = seal(deps.keyring, providerBinding(provider), newKey);
    Object.assign(update, { keyHint: keyHint(newKey), keyFingerprint: keyFingerprint(newKey), status: 'unverified', statusReason: null, verifiedAt: null });
  }
  const endpointChanged = changes.baseUrl !== undefined && apiConfig.baseUrl !== provider.apiConfig.baseUrl;
  if (endpointChanged && !newKey) Object.assign(update, { status: 'unverified', statusReason: null, verifiedAt: null });
  update.apiConfig = apiConfig;
  const updated = await deps.sequelize.transaction(async (transaction) => {
    await provider.update(update, { transaction });
    const changed = Object.keys(changes).filter((k) => k !== 'apiKey' && changes[k as keyof ConnectionChanges] !== undefined);
    await recordAudit(
      session,
      { action: newKey ? 'provider.rotate_key' : 'provider.update', targetType: 'provider', targetId: provider.id, details: { label: provider.label, changed, ...(newKey ? { keyHint: provider.keyHint } : {}) } },
      transaction,
    );
    return provider;
  });
  forgetProviderAdapters(provider.id);
  return updated;
}

/** Deletes a connection no instance uses; otherwise 409 naming those instances (disable it instead). */
export async function deleteConnection(deps: ConnectionDeps, session: LaunchSession, provider: Provider): Promise<void> {
  requireManage(session, provider);
  await deps.sequelize.transaction(async (transaction) => {
    const users = await ModelInstance.findAll({ where: { providerId: provider.id }, attributes: ['id', 'name'], transaction, lock: transaction.LOCK.UPDATE });
    if (users.length) {
      throw conflict(`This connection is used by ${users.length} model instance(s): ${users.map((i) => i.name).join(', ')}. Remove them first, or disable the connection.`, {
        instances: users.map((i) => ({ id: i.id, name: i.name })),
      });
    }
    await provider.destroy({ transaction });
    await recordAudit(session, { action: 'provider.delete', targetType: 'provider', targetId: provider.id, details: { label: provider.label, kind: provider.kind } }, transaction);
  });
  forgetProviderAdapters(provider.id);
}

const STATUS_BY_ERROR: Record<ProviderErrorCode | 'credential_unreadable', ProviderStatus> = {
  auth: 'invalid',
  bad_request: 'invalid',
  quota: 'valid',
  rate_limited: 'valid',
  timeout: 'unreachable',
  unavailable: 'unreachable',
  credential_unreadable: 'invalid',
};

/** "Test connection": one small provider call; records valid/invalid/unreachable, when, and why. */
export async function verifyConnection(deps: ConnectionDeps, session: LaunchSession, provider: Provider): Promise<Provider> {
  requireManage(session, provider);
  // withProviderAdapter refuses disabled connections with a code the status map does not know (a 500).
  if (provider.disabled) throw conflict('This connection is disabled: enable it before testing it.');
  let status: ProviderStatus = 'valid';
  let reason: string | null = null;
  const started = Date.now();
  try {
    await withProviderAdapter(deps.keyring, provider, (adapter) => adapter.verify(), { timeoutMs: 15000 });
  } catch (err) {
    const code = (err as { code?: string }).code as keyof typeof STATUS_BY_ERROR | undefined;
    if (!code || !(code in STATUS_BY_ERROR)) throw err;
    status = STATUS_BY_ERROR[code] ?? 'unreachable';
    reason = code;
  }
  // Every provider call is in the usage ledger, "Test connection" under its own type.
  await recordVerifyCall(
    { deploymentId: provider.deploymentId, providerId: provider.id, providerKind: provider.kind, ownerType: provider.ownerType, ownerUserId: provider.ownerUserId, instructorUserId: provider.ownerUserId },
    { latencyMs: Date.now() - started, outcome: reason ?? 'ok' },
  );
  return deps.sequelize.transaction(async (transaction) => {
    await provider.update({ status, statusReason: reason, verifiedAt: new Date() }, { transaction });
    await recordAudit(session, { action: 'provider.verify', targetType: 'provider', targetId: provider.id, details: { label: provider.label, status, reason } }, transaction);
    return provider;
  });
}
