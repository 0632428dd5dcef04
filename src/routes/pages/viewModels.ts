import { microsToDollars } from '../../commands/catalogue';
import type { LaunchSession } from '../../lti/session';
import type { AuditEvent, CatalogueModel, ModelInstance, Provider } from '../../models';
import { presentAuditEvent, presentInstance, presentModel, presentProvider } from '../../presenters/configuration';
import { isProviderKind, PROVIDER_KINDS } from '../../providers/registry';

// What the configuration screens show, built on the API presenters (so a field the API does not
// expose cannot reach a page either) plus the words a person reads: badges, statuses, prices.

const STATUS_WORDS: Record<string, string> = { unverified: 'Not tested yet', valid: 'Valid', invalid: 'Invalid', unreachable: 'Unreachable' };

/** Why a test failed, in words; the stored reason is one of our codes, never provider text. */
const REASON_WORDS: Record<string, string> = {
  auth: 'The provider rejected the API key.',
  bad_request: 'The provider rejected the request as invalid.',
  quota: 'The key works, but the account has run out of quota or credit.',
  rate_limited: 'The key works, but the provider is rate limiting requests.',
  timeout: 'The provider did not answer in time.',
  unavailable: 'The provider could not be reached or is unavailable.',
  credential_unreadable: 'The stored key cannot be read: enter the key again.',
};

export function kindLabel(kind: string): string {
  return isProviderKind(kind) ? PROVIDER_KINDS[kind].label : kind;
}

/** The provider kinds for a select, with the key format each expects. */
export function kindOptions(selected?: string) {
  return Object.values(PROVIDER_KINDS).map((spec) => ({ value: spec.kind, label: spec.label, keyHint: spec.keyHint, selected: spec.kind === selected }));
}

const ownerBadge = (ownerType: string) => (ownerType === 'system' ? 'System' : 'Mine');

export function connectionRow(provider: Provider, session: LaunchSession) {
  const p = presentProvider(provider, session);
  return {
    id: p.id,
    label: p.label,
    kind: p.kind,
    kindLabel: kindLabel(p.kind),
    owner: ownerBadge(p.owner.type),
    isSystem: p.owner.type === 'system',
    keyHint: `\u2022\u2022\u2022\u2022${p.keyHint}`,
    keyFingerprint: p.keyFingerprint,
    baseUrl: p.baseUrl,
    organization: p.organization,
    project: p.project,
    status: p.status,
    statusWord: STATUS_WORDS[p.status] ?? p.status,
    statusReason: p.statusReason ? (REASON_WORDS[p.statusReason] ?? 'The test failed.') : null,
    verifiedAt: p.verifiedAt,
    disabled: p.disabled,
    canManage: p.canManage,
    supportsOrganization: isProviderKind(p.kind) && PROVIDER_KINDS[p.kind].supportsOrganization,
  };
}
export type ConnectionRow = ReturnType<typeof connectionRow>;

/** A model price for people: "$2.50", or null when unknown. */
const dollars = (amount: string | null) => (amount === null ? null : `$${amount}`);
const price = (micros: number | null) => (micros === null ? null : microsToDollars(micros));

export function modelRow(model: CatalogueModel) {
  const m = presentModel(model);
  return {
    ...m,
    kindLabel: kindLabel(m.providerKind),
    inputPrice: dollars(m.inputPricePerMTok),
    outputPrice: dollars(m.outputPricePerMTok),
    /** The price without the admin's override, and the override as the price form shows it ('' = none). */
    listInputPrice: dollars(price(model.inputPriceMicros)),
    listOutputPrice: dollars(price(model.outputPriceMicros)),
    overrideInput: price(model.inputPriceOverrideMicros) ?? '',
    overrideOutput: price(model.outputPriceOverrideMicros) ?? '',
  };
}
export type ModelRow = ReturnType<typeof modelRow>;

/** Catalogue rows grouped per provider kind, in the registry's order. */
export function modelsByKind(rows: ModelRow[]) {
  return Object.values(PROVIDER_KINDS)
    .map((spec) => ({ kind: spec.kind, label: spec.label, models: rows.filter((r) => r.providerKind === spec.kind) }))
    .filter((group) => group.models.length);
}

export function instanceRow(instance: ModelInstance, session: LaunchSession, connections: Map<string, ConnectionRow>, models: Map<string, ModelRow>) {
  const i = presentInstance(instance, session);
  const connection = connections.get(i.providerId);
  const kind = connection?.kind ?? '';
  const params = i.params;
  return {
    id: i.id,
    name: i.name,
    model: i.model,
    modelName: models.get(`${kind}:${i.model}`)?.displayName ?? i.model,
    connectionLabel: connection?.label ?? 'A connection you cannot see',
    connectionOwner: connection?.owner,
    owner: ownerBadge(i.owner.type),
    isSystem: i.owner.type === 'system',
    isDefault: i.isDefault,
    canManage: i.canManage,
    params: [
      ['Temperature', params.temperature],
      ['Max tokens', params.maxTokens],
      ['Top-p', params.topP],
      ['Context size', params.contextSize],
    ]
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => `${name} ${value}`)
      .join(', '),
    hasSystemPrompt: !!params.systemPrompt,
  };
}

/** An audit event with its details as "name: value" lines. */
export function auditRow(event: AuditEvent) {
  const e = presentAuditEvent(event);
  const details = Object.entries(e.details ?? {}).map(([name, value]) => ({
    name,
    value: typeof value === 'string' ? value : JSON.stringify(value),
  }));
  return { id: e.id, createdAt: e.createdAt, actor: e.actor.name ?? e.actor.userId ?? 'Unknown', action: e.action, target: `${e.target.type} ${e.target.id}`, details };
}
