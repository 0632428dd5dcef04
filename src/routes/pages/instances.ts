import { Request, Response, Router } from 'express';
import type { Sequelize } from 'sequelize';
import { listCatalogue } from '../../commands/catalogue';
import { createInstance, deleteInstance, findInstance, listInstances, updateInstance } from '../../commands/modelInstances';
import { listConnections } from '../../commands/providerConnections';
import { settingsOf } from '../../commands/settings';
import { forbidden } from '../../errors';
import { getSession, LaunchSession } from '../../lti/session';
import type { ModelInstance } from '../../models';
import { can } from '../../policies';
import { canManage } from '../../policies/ownership';
import { isProviderKind, PROVIDER_KINDS } from '../../providers/registry';
import { asyncHandler } from '../asyncHandler';
import { instanceCreateSchema, instanceUpdateSchema } from '../api/schemas';
import type { Area } from './area';
import { FormReader, formFailure } from './forms';
import { noticeFrom, redirectTo, renderFailedForm, renderPage } from './view';
import { ConnectionRow, connectionRow, instanceRow, modelRow, ModelRow } from './viewModels';

// Model instance screens: a connection, a model from the catalogue of that connection's kind, and
// parameters. Adding is two steps without JavaScript: pick the connection, then the model.

const LABELS: Record<string, string> = {
  name: 'Name',
  providerId: 'Connection',
  model: 'Model',
  temperature: 'Temperature',
  maxTokens: 'Max output tokens',
  topP: 'Top-p',
  contextSize: 'Context size',
  systemPrompt: 'System prompt',
  scope: 'Owner',
  isDefault: 'Default',
};

const NOTICES = {
  created: 'The instance was saved.',
  saved: 'The instance was saved.',
  deleted: 'The instance was deleted.',
  defaulted: 'The defaults were updated.',
};

interface Lookups {
  connections: ConnectionRow[];
  models: ModelRow[];
}

async function lookups(session: LaunchSession): Promise<Lookups> {
  const [providers, models] = await Promise.all([
    listConnections(session),
    listCatalogue(session.deployment.id, { includeHidden: can(session, 'administer') }),
  ]);
  return { connections: providers.map((p) => connectionRow(p, session)), models: models.map(modelRow) };
}

/** Connections offered in this area's selects (the command re-checks every choice). */
function choices(session: LaunchSession, area: Area, connections: ConnectionRow[]): ConnectionRow[] {
  const systemAllowed = area.scopes.includes('system') || settingsOf(session.deployment).allowInstructorSystemConnections;
  return connections.filter((c) => !c.disabled && (c.isSystem ? systemAllowed : true));
}

/** The form's data for one chosen connection: its models and parameter ranges. */
function formData(session: LaunchSession, area: Area, data: Lookups, connection: ConnectionRow, values: Record<string, string>, instance?: ModelInstance) {
  const kind = isProviderKind(connection.kind) ? PROVIDER_KINDS[connection.kind] : null;
  const defaults = settingsOf(session.deployment).defaultParams;
  const models = data.models.filter((m) => m.providerKind === connection.kind && !m.hidden);
  // A system connection may carry an institution instance (admins) or an instructor's own one.
  const scopeChoice = !instance && area.scopes.length > 1 && connection.isSystem;
  const scope = instance ? instance.ownerType : scopeChoice ? (values.scope ?? 'system') : 'instructor';
  return {
    area,
    instance: instance ? { id: instance.id, name: instance.name } : undefined,
    connection,
    // Editing may move an instance to another connection of the same kind (institution instances: institution connections).
    sameKindConnections: instance
      ? [connection, ...choices(session, area, data.connections).filter((c) => c.id !== connection.id && c.kind === connection.kind && (c.isSystem || instance.ownerType !== 'system'))].map((c) => ({ ...c, selected: c.id === (values.providerId ?? connection.id) }))
      : [],
    models: [
      ...models.map((m) => ({ value: m.model, label: m.displayName, selected: m.model === values.model })),
      // The instance's own model stays visible (and refused on save) after an admin hides it.
      ...(values.model && !models.some((m) => m.model === values.model) ? [{ value: values.model, label: `${values.model}, no longer offered`, selected: true }] : []),
    ],
    freeModel: connection.kind === 'openai_compatible',
    scopes: scopeChoice ? (['system', 'instructor'] as const).map((s) => ({ value: s, label: s === 'system' ? 'System (every instructor may use it)' : 'Mine (only you)', checked: s === scope })) : null,
    canDefault: area.scopes.includes('system') && (scopeChoice || scope === 'system'),
    ranges: kind && {
      temperature: `${kind.params.temperature.min} to ${kind.params.temperature.max}; blank uses the deployment default (${defaults.temperature})`,
      topP: `${kind.params.topP.min} to ${kind.params.topP.max}; blank uses ${defaults.topP}`,
      maxTokens: `A whole number up to the model's maximum output; blank uses ${defaults.maxTokens}`,
    },
    values,
  };
}

function paramsFrom(form: FormReader) {
  return {
    temperature: form.number('temperature', 'params.temperature'),
    maxTokens: form.number('maxTokens', 'params.maxTokens'),
    topP: form.number('topP', 'params.topP'),
    contextSize: form.number('contextSize', 'params.contextSize'),
    systemPrompt: form.optional('systemPrompt'),
  };
}

function valuesOf(instance: ModelInstance): Record<string, string> {
  const p = instance.params;
  const text = (v: number | string | undefined) => (v === undefined ? '' : String(v));
  return { name: instance.name, providerId: instance.providerId, model: instance.model, temperature: text(p.temperature), maxTokens: text(p.maxTokens), topP: text(p.topP), contextSize: text(p.contextSize), systemPrompt: text(p.systemPrompt), isDefault: instance.isDefault ? '1' : '' };
}

export function instancePages(deps: { sequelize: Sequelize }, area: Area): Router {
  const router = Router();
  const list = `${area.base}/instances`;
  const title = area.titles.instances;
  const section = area.sections.instances;

  const manageable = async (req: Request, res: Response): Promise<ModelInstance> => {
    const session = getSession(res);
    const instance = await findInstance(session, req.params.id);
    if (!canManage(session, instance)) throw forbidden('Only an administrator can change the institution\u2019s instances.');
    return instance;
  };

  router.get(list, ...area.page, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const data = await lookups(session);
    const connections = new Map(data.connections.map((c) => [c.id, c]));
    const models = new Map(data.models.map((m) => [`${m.providerKind}:${m.model}`, m]));
    const rows = (await listInstances(session)).filter((i) => area.lists(i.ownerType)).map((i) => instanceRow(i, session, connections, models));
    renderPage(res, 'config/instances', title, section, { area, instances: rows, notice: noticeFrom(req, NOTICES), hasConnections: choices(session, area, data.connections).length > 0 });
  }));

  // Step 1 (no providerId): choose a connection. Step 2: the form for that connection.
  router.get(`${list}/new`, ...area.page, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const data = await lookups(session);
    const options = choices(session, area, data.connections);
    const connection = options.find((c) => c.id === req.query.providerId);
    if (!connection) {
      const problems = req.query.providerId !== undefined ? ['Choose one of the connections in the list.'] : undefined;
      return renderPage(res, 'config/instance-connection', 'Add an instance', section, { area, connections: options, problems });
    }
    renderPage(res, 'config/instance-form', 'Add an instance', section, formData(session, area, data, connection, { providerId: connection.id }));
  }));

  router.post(list, ...area.post, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const form = new FormReader(req.body);
    try {
      const input = form.parse(instanceCreateSchema, {
        name: form.text('name'),
        providerId: form.text('providerId'),
        model: form.text('model'),
        params: paramsFrom(form),
        scope: area.scopes.length > 1 ? (form.optional('scope') ?? 'instructor') : area.scopes[0],
        ...(area.scopes.includes('system') ? { isDefault: form.checkbox('isDefault') } : {}),
      });
      await createInstance(deps.sequelize, session, input);
    } catch (err) {
      const failure = formFailure(err, LABELS);
      if (!failure) throw err;
      const data = await lookups(session);
      const connection = choices(session, area, data.connections).find((c) => c.id === form.text('providerId'));
      if (!connection) return renderPage(res, 'config/instance-connection', 'Add an instance', section, { area, connections: choices(session, area, data.connections), problems: failure.summary }, failure.status);
      return renderFailedForm(res, 'config/instance-form', 'Add an instance', section, failure, formData(session, area, data, connection, form.echo()));
    }
    redirectTo(res, list, 'created');
  }));

  router.get(`${list}/:id/edit`, ...area.page, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const instance = await manageable(req, res);
    const data = await lookups(session);
    const connection = data.connections.find((c) => c.id === instance.providerId);
    if (!connection) throw forbidden('This instance uses a connection you cannot see.');
    renderPage(res, 'config/instance-form', `Edit ${instance.name}`, section, formData(session, area, data, connection, valuesOf(instance), instance));
  }));

  router.post(`${list}/:id`, ...area.post, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const instance = await manageable(req, res);
    const form = new FormReader(req.body);
    try {
      const changes = form.parse(instanceUpdateSchema, {
        name: form.text('name'),
        // Only a move is checked again: an unchanged (even since disabled) connection is kept.
        providerId: form.text('providerId') === instance.providerId ? undefined : form.text('providerId'),
        model: form.text('model'),
        params: paramsFrom(form),
        ...(area.scopes.includes('system') && instance.ownerType === 'system' ? { isDefault: form.checkbox('isDefault') } : {}),
      });
      await updateInstance(deps.sequelize, session, instance, changes);
    } catch (err) {
      const failure = formFailure(err, LABELS);
      if (!failure) throw err;
      const data = await lookups(session);
      const connection = data.connections.find((c) => c.id === form.text('providerId')) ?? data.connections.find((c) => c.id === instance.providerId);
      if (!connection) throw err;
      return renderFailedForm(res, 'config/instance-form', `Edit ${instance.name}`, section, failure, formData(session, area, data, connection, form.echo(), instance));
    }
    redirectTo(res, list, 'saved');
  }));

  router.post(`${list}/:id/default`, ...area.post, asyncHandler(async (req, res) => {
    const instance = await manageable(req, res);
    await updateInstance(deps.sequelize, getSession(res), instance, { isDefault: new FormReader(req.body).checkbox('isDefault') });
    redirectTo(res, list, 'defaulted');
  }));

  router.get(`${list}/:id/delete`, ...area.page, asyncHandler(async (req, res) => {
    const instance = await manageable(req, res);
    renderPage(res, 'config/instance-delete', `Delete ${instance.name}`, section, { area, instance: { id: instance.id, name: instance.name } });
  }));

  router.post(`${list}/:id/delete`, ...area.post, asyncHandler(async (req, res) => {
    await deleteInstance(deps.sequelize, getSession(res), await manageable(req, res));
    redirectTo(res, list, 'deleted');
  }));
  return router;
}
