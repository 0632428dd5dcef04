import type { Sequelize } from 'sequelize';
import { forbidden, notFound } from '../errors';
import type { LaunchSession } from '../lti/session';
import { ModelInstance, Provider } from '../models';
import type { InstanceParams } from '../models/ModelInstance';
import type { OwnerType } from '../models/Provider';
import { canManage, isVisible, ownerFor, requireId, visibleTo } from '../policies/ownership';
import { providerKindSpec } from '../providers/registry';
import type { ProviderKind } from '../providers/types';
import { recordAudit } from './audit';
import { ensureCatalogue, findCatalogueModel } from './catalogue';
import { settingsOf } from './settings';
import { fieldError } from './validation';

// Model instances: a provider connection + a model + parameters. Parameters are checked against the
// provider kind's ranges and the model's limits; the connection must be one this owner may use.

export interface InstanceInput {
  name: string;
  providerId: string;
  model: string;
  params: InstanceParams;
  scope: OwnerType;
  isDefault?: boolean;
}

export type InstanceChanges = Partial<Omit<InstanceInput, 'scope' | 'providerId'>> & { providerId?: string };

export async function listInstances(session: LaunchSession): Promise<ModelInstance[]> {
  return ModelInstance.findAll({ where: visibleTo(session), order: [['ownerType', 'DESC'], ['name', 'ASC']] });
}

export async function findInstance(session: LaunchSession, id: unknown): Promise<ModelInstance> {
  const found = await ModelInstance.findOne({ where: { id: requireId(id), ...visibleTo(session) } });
  if (!found) throw notFound('No such model instance.');
  return found;
}

/** The connection an instance of this scope may use, or a 404 on providerId (foreign ids look absent). */
async function usableConnection(session: LaunchSession, providerId: unknown, scope: OwnerType): Promise<Provider> {
  let provider: Provider | null = null;
  if (typeof providerId === 'string' && /^[0-9a-f-]{36}$/i.test(providerId)) provider = await Provider.findByPk(providerId);
  if (!provider || !isVisible(session, provider)) throw fieldError('providerId', 'no such provider connection');
  if (scope === 'system' && provider.ownerType !== 'system') throw fieldError('providerId', 'an institution instance must use an institution connection');
  if (scope === 'instructor' && provider.ownerType === 'system' && session.role !== 'admin' && !settingsOf(session.deployment).allowInstructorSystemConnections) {
    throw fieldError('providerId', 'your institution does not allow instances on its connections');
  }
  if (provider.disabled) throw fieldError('providerId', 'this connection is disabled');
  return provider;
}

/** Checks the model and every parameter against the kind's ranges and the model's limits. */
async function checkModelAndParams(session: LaunchSession, provider: Provider, model: string, params: InstanceParams): Promise<void> {
  const kind = provider.kind as ProviderKind;
  const spec = providerKindSpec(kind);
  await ensureCatalogue(session.deployment);
  const entry = await findCatalogueModel(session.deployment.id, kind, model);
  // Self-hosted endpoints serve models no catalogue can list; everything else must be catalogued.
  if ((!entry || entry.hidden) && kind !== 'openai_compatible') throw fieldError('model', `is not in the ${spec.label} catalogue of this deployment`);

  const range = (field: 'temperature' | 'topP' | 'maxTokens', value: number | undefined, max: number) => {
    if (value === undefined) return;
    const p = spec.params[field];
    const upper = Math.min(p.max, max);
    if (value < p.min || value > upper) throw fieldError(`params.${field}`, `must be between ${p.min} and ${upper} for ${spec.label}${upper < p.max ? ` (${model})` : ''}`);
    if (p.integer && !Number.isInteger(value)) throw fieldError(`params.${field}`, 'must be a whole number');
  };
  range('temperature', params.temperature, Infinity);
  range('topP', params.topP, Infinity);
  range('maxTokens', params.maxTokens, entry?.maxOutput ?? Infinity);
  if (params.contextSize !== undefined && entry?.contextWindow && params.contextSize > entry.contextWindow) {
    throw fieldError('params.contextSize', `must be at most ${entry.contextWindow} for ${model}`);
  }
}

export async function createInstance(sequelize: Sequelize, session: LaunchSession, input: InstanceInput): Promise<ModelInstance> {
  if (input.scope === 'system' && session.role !== 'admin') throw forbidden('Only an administrator can add institution instances.');
  if (input.isDefault && input.scope !== 'system') throw fieldError('isDefault', 'only institution instances can be defaults');
  const provider = await usableConnection(session, input.providerId, input.scope);
  await checkModelAndParams(session, provider, input.model, input.params);
  return sequelize.transaction(async (transaction) => {
    const instance = await ModelInstance.create(
      { deploymentId: session.deployment.id, ...ownerFor(session, input.scope), providerId: provider.id, model: input.model, name: input.name, params: input.params, isDefault: !!input.isDefault },
      { transaction },
    );
    await recordAudit(session, { action: 'instance.create', targetType: 'instance', targetId: instance.id, details: { name: input.name, model: input.model, scope: input.scope, providerId: provider.id } }, transaction);
    return instance;
  });
}

export async function updateInstance(sequelize: Sequelize, session: LaunchSession, instance: ModelInstance, changes: InstanceChanges): Promise<ModelInstance> {
  if (!canManage(session, instance)) throw forbidden('Only an administrator can change the institution\u2019s instances.');
  if (changes.isDefault && instance.ownerType !== 'system') throw fieldError('isDefault', 'only institution instances can be defaults');
  const provider = changes.providerId ? await usableConnection(session, changes.providerId, instance.ownerType) : await Provider.findByPk(instance.providerId);
  if (!provider) throw notFound();
  const model = changes.model ?? instance.model;
  const params = changes.params ?? instance.params;
  await checkModelAndParams(session, provider, model, params);
  return sequelize.transaction(async (transaction) => {
    await instance.update(
      { name: changes.name ?? instance.name, providerId: provider.id, model, params, isDefault: changes.isDefault ?? instance.isDefault },
      { transaction },
    );
    const changed = Object.keys(changes).filter((k) => changes[k as keyof InstanceChanges] !== undefined);
    await recordAudit(session, { action: 'instance.update', targetType: 'instance', targetId: instance.id, details: { name: instance.name, changed } }, transaction);
    return instance;
  });
}

export async function deleteInstance(sequelize: Sequelize, session: LaunchSession, instance: ModelInstance): Promise<void> {
  if (!canManage(session, instance)) throw forbidden('Only an administrator can remove the institution\u2019s instances.');
  await sequelize.transaction(async (transaction) => {
    await instance.destroy({ transaction });
    await recordAudit(session, { action: 'instance.delete', targetType: 'instance', targetId: instance.id, details: { name: instance.name } }, transaction);
  });
}

/** The admin's default instances, pre-selected for new assignments. */
export async function defaultInstances(deploymentId: string): Promise<ModelInstance[]> {
  return ModelInstance.findAll({ where: { deploymentId, ownerType: 'system', isDefault: true }, order: [['name', 'ASC']] });
}
