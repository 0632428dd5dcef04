import { Request, Response, Router } from 'express';
import type { ConnectionDeps } from '../../commands/providerConnections';
import { createConnection, deleteConnection, findConnection, listConnections, updateConnection, verifyConnection } from '../../commands/providerConnections';
import { forbidden, HttpError } from '../../errors';
import { getSession } from '../../lti/session';
import type { Provider } from '../../models';
import { canManage } from '../../policies/ownership';
import { asyncHandler } from '../asyncHandler';
import { providerCreateSchema, providerUpdateSchema } from '../api/schemas';
import type { Area } from './area';
import { FormReader, formFailure } from './forms';
import { noticeFrom, redirectTo, renderFailedForm, renderPage } from './view';
import { connectionRow, kindOptions } from './viewModels';

// Provider connection screens: list, add, edit (a blank key keeps the stored one), test, disable,
// delete with confirmation. Each post parses the form and calls the command the API calls.

const LABELS: Record<string, string> = {
  kind: 'Provider',
  label: 'Label',
  apiKey: 'API key',
  baseUrl: 'Base URL',
  organization: 'Organization',
  project: 'Project',
  scope: 'Owner',
};

const NOTICES = {
  created: 'The connection was saved. Its key is stored encrypted and will not be shown again.',
  saved: 'The connection was saved.',
  disabled: 'The connection was disabled. Instances on it stop working until it is enabled again.',
  enabled: 'The connection was enabled.',
  deleted: 'The connection was deleted.',
};

/** A connection this session may change, or 403 (one it cannot see is already a 404). */
async function manageable(req: Request, res: Response): Promise<Provider> {
  const session = getSession(res);
  const provider = await findConnection(session, req.params.id);
  if (!canManage(session, provider)) throw forbidden('Only an administrator can change the institution\u2019s connections.');
  return provider;
}

export function connectionPages(deps: ConnectionDeps, area: Area): Router {
  const router = Router();
  const list = `${area.base}/connections`;
  const formData = (values: Record<string, string>) => ({
    area,
    kinds: kindOptions(values.kind),
    scopes: area.scopes.length > 1 ? area.scopes.map((s) => ({ value: s, label: s === 'system' ? 'System (every instructor of this deployment may use it)' : 'Mine (only you)', checked: (values.scope ?? area.scopes[0]) === s })) : null,
    values,
  });

  router.get(list, ...area.page, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const rows = (await listConnections(session)).filter((p) => area.lists(p.ownerType)).map((p) => connectionRow(p, session));
    const tested = rows.find((r) => r.id === req.query.tested);
    renderPage(res, 'config/connections', area.titles.connections, area.sections.connections, { area, connections: rows, notice: noticeFrom(req, NOTICES), tested });
  }));

  router.get(`${list}/new`, ...area.page, (_req, res) => {
    renderPage(res, 'config/connection-form', 'Add a connection', area.sections.connections, formData({}));
  });

  router.post(list, ...area.post, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const form = new FormReader(req.body);
    try {
      const input = form.parse(providerCreateSchema, {
        kind: form.text('kind'),
        label: form.text('label'),
        apiKey: form.text('apiKey'),
        baseUrl: form.optional('baseUrl'),
        organization: form.optional('organization'),
        project: form.optional('project'),
        // Instructors have one scope; whatever the body says is ignored.
        scope: area.scopes.length > 1 ? form.text('scope') : area.scopes[0],
      });
      await createConnection(deps, session, input);
    } catch (err) {
      const failure = formFailure(err, LABELS);
      if (!failure) throw err;
      return renderFailedForm(res, 'config/connection-form', 'Add a connection', area.sections.connections, failure, formData(form.echo('apiKey')));
    }
    redirectTo(res, list, 'created');
  }));

  router.get(`${list}/:id/edit`, ...area.page, asyncHandler(async (req, res) => {
    const connection = connectionRow(await manageable(req, res), getSession(res));
    const values = { label: connection.label, baseUrl: connection.baseUrl ?? '', organization: connection.organization ?? '', project: connection.project ?? '' };
    renderPage(res, 'config/connection-form', `Edit ${connection.label}`, area.sections.connections, { ...formData(values), connection });
  }));

  router.post(`${list}/:id`, ...area.post, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const provider = await manageable(req, res);
    const connection = connectionRow(provider, session);
    const form = new FormReader(req.body);
    try {
      const changes = form.parse(providerUpdateSchema, {
        label: form.text('label'),
        // Blank means "keep the stored key", as the form says.
        apiKey: form.optional('apiKey'),
        baseUrl: form.text('baseUrl'),
        ...(connection.supportsOrganization ? { organization: form.text('organization'), project: form.text('project') } : {}),
      });
      await updateConnection(deps, session, provider, changes);
    } catch (err) {
      const failure = formFailure(err, LABELS);
      if (!failure) throw err;
      return renderFailedForm(res, 'config/connection-form', `Edit ${connection.label}`, area.sections.connections, failure, { ...formData(form.echo('apiKey')), connection });
    }
    redirectTo(res, list, 'saved');
  }));

  router.post(`${list}/:id/test`, ...area.post, asyncHandler(async (req, res) => {
    const provider = await verifyConnection(deps, getSession(res), await manageable(req, res));
    redirectTo(res, list, undefined, { tested: provider.id });
  }));

  for (const [action, disabled] of [['disable', true], ['enable', false]] as const) {
    router.post(`${list}/:id/${action}`, ...area.post, asyncHandler(async (req, res) => {
      await updateConnection(deps, getSession(res), await manageable(req, res), { disabled });
      redirectTo(res, list, disabled ? 'disabled' : 'enabled');
    }));
  }

  router.get(`${list}/:id/delete`, ...area.page, asyncHandler(async (req, res) => {
    const connection = connectionRow(await manageable(req, res), getSession(res));
    renderPage(res, 'config/connection-delete', `Delete ${connection.label}`, area.sections.connections, { area, connection });
  }));

  router.post(`${list}/:id/delete`, ...area.post, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const provider = await manageable(req, res);
    try {
      await deleteConnection(deps, session, provider);
    } catch (err) {
      if (!(err instanceof HttpError) || err.status !== 409) throw err;
      const inUse = (err.details?.instances ?? []) as { id: string; name: string }[];
      return renderPage(res, 'config/connection-delete', `Delete ${provider.label}`, area.sections.connections, { area, connection: connectionRow(provider, session), inUse }, 409);
    }
    redirectTo(res, list, 'deleted');
  }));
  return router;
}
