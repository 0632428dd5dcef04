import { microsToDollars } from '../commands/catalogue';
import type { DeploymentSettings } from '../commands/settings';
import type { LaunchSession } from '../lti/session';
import type { AuditEvent, CatalogueModel, ModelInstance, Provider } from '../models';
import { canManage } from '../policies/ownership';

// Model → response. Each presenter lists its fields: the sealed key, api_config and tenant ids never
// leave through here, whatever a model gains later.

const owner = (o: { ownerType: string; ownerUserId: string | null }) =>
  o.ownerType === 'system' ? { type: 'system' as const } : { type: 'instructor' as const, userId: o.ownerUserId };

export function presentProvider(p: Provider, session: LaunchSession) {
  return {
    id: p.id,
    kind: p.kind,
    label: p.label,
    owner: owner(p),
    keyHint: p.keyHint,
    keyFingerprint: p.keyFingerprint,
    baseUrl: p.apiConfig.baseUrl ?? null,
    organization: p.apiConfig.organization ?? null,
    project: p.apiConfig.project ?? null,
    status: p.status,
    statusReason: p.statusReason,
    verifiedAt: p.verifiedAt,
    disabled: p.disabled,
    canManage: canManage(session, p),
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}

export function presentInstance(i: ModelInstance, session: LaunchSession) {
  return {
    id: i.id,
    name: i.name,
    providerId: i.providerId,
    model: i.model,
    params: i.params,
    owner: owner(i),
    isDefault: i.isDefault,
    canManage: canManage(session, i),
    createdAt: i.createdAt,
    updatedAt: i.updatedAt,
  };
}

const price = (micros: number | null) => (micros === null ? null : microsToDollars(micros));

export function presentModel(m: CatalogueModel) {
  const input = m.effectiveInputMicros;
  const output = m.effectiveOutputMicros;
  return {
    id: m.id,
    providerKind: m.providerKind,
    model: m.model,
    displayName: m.displayName,
    contextWindow: m.contextWindow,
    maxOutput: m.maxOutput,
    inputPricePerMTok: price(input),
    outputPricePerMTok: price(output),
    priceUnknown: input === null || output === null,
    priceOverridden: m.inputPriceOverrideMicros !== null || m.outputPriceOverrideMicros !== null,
    priceDate: m.priceDate,
    source: m.source,
    hidden: m.hidden,
  };
}

export function presentSettings(s: DeploymentSettings) {
  return {
    allowInstructorSystemConnections: s.allowInstructorSystemConnections,
    defaultParams: s.defaultParams,
    allowedLocalHosts: s.allowedLocalHosts,
    retention: s.retention,
    dataNotice: s.dataNotice,
  };
}

export function presentAuditEvent(e: AuditEvent) {
  return { id: e.id, action: e.action, actor: { userId: e.actorUserId, name: e.actorLabel }, target: { type: e.targetType, id: e.targetId }, details: e.details, createdAt: e.createdAt };
}
