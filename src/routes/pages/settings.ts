import { Router } from 'express';
import { BUILT_IN_SETTINGS, settingsOf, updateSettings } from '../../commands/settings';
import { getSession } from '../../lti/session';
import { AuditEvent } from '../../models';
import { DEFAULT_NOTICE } from '../../privacy/notice';
import { asyncHandler } from '../asyncHandler';
import { settingsSchema } from '../api/schemas';
import type { Area } from './area';
import { FormReader, formFailure } from './forms';
import { noticeFrom, redirectTo, renderFailedForm, renderPage } from './view';
import { auditRow } from './viewModels';

// Deployment settings and the audit log (admins).

const LABELS: Record<string, string> = {
  allowInstructorSystemConnections: 'Instructors may use institution connections',
  temperature: 'Default temperature',
  maxTokens: 'Default max output tokens',
  topP: 'Default top-p',
  allowedLocalHosts: 'Allowed local hosts',
  'retention.days': 'Days to keep submission text',
  retention: 'Retention',
  dataNotice: 'Data-use notice',
};

const built = BUILT_IN_SETTINGS.defaultParams;
const BUILT_IN_DAYS = BUILT_IN_SETTINGS.retention.mode === 'days_after_release' ? BUILT_IN_SETTINGS.retention.days : 180;
const hints = {
  temperature: `0 to 2; blank uses the built-in ${built.temperature}`,
  maxTokens: `A whole number from 1 to 128000; blank uses the built-in ${built.maxTokens}`,
  topP: `0 to 1; blank uses the built-in ${built.topP}`,
  retentionDays: `1 to 3650 days after the feedback is released; blank uses the built-in ${BUILT_IN_DAYS}`,
};

export function settingsPages(admin: Area): Router {
  const router = Router();

  router.get('/admin/settings', ...admin.page, (req, res) => {
    const settings = settingsOf(getSession(res).deployment);
    const values = {
      allowInstructorSystemConnections: settings.allowInstructorSystemConnections ? '1' : '',
      temperature: String(settings.defaultParams.temperature),
      maxTokens: String(settings.defaultParams.maxTokens),
      topP: String(settings.defaultParams.topP),
      allowedLocalHosts: settings.allowedLocalHosts.join('\n'),
      retentionMode: settings.retention.mode,
      retentionDays: String(settings.retention.mode === 'days_after_release' ? settings.retention.days : BUILT_IN_DAYS),
      dataNotice: settings.dataNotice ?? '',
    };
    renderPage(res, 'admin/settings', 'Settings', 'settings', { values, hints, defaultNotice: DEFAULT_NOTICE, notice: noticeFrom(req, { saved: 'The settings were saved.' }) });
  });

  router.post('/admin/settings', ...admin.post, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const form = new FormReader(req.body);
    try {
      const input = form.parse(settingsSchema, {
        allowInstructorSystemConnections: form.checkbox('allowInstructorSystemConnections'),
        defaultParams: {
          temperature: form.number('temperature', 'defaultParams.temperature') ?? built.temperature,
          maxTokens: form.number('maxTokens', 'defaultParams.maxTokens') ?? built.maxTokens,
          topP: form.number('topP', 'defaultParams.topP') ?? built.topP,
        },
        allowedLocalHosts: form.list('allowedLocalHosts').map((host) => host.toLowerCase()),
        retention: form.text('retentionMode') === 'until_release'
          ? { mode: 'until_release' }
          : { mode: 'days_after_release', days: form.number('retentionDays', 'retention.days') ?? BUILT_IN_DAYS },
        dataNotice: form.text('dataNotice'),
      });
      await updateSettings(session, input);
    } catch (err) {
      const failure = formFailure(err, LABELS);
      if (!failure) throw err;
      return renderFailedForm(res, 'admin/settings', 'Settings', 'settings', failure, { values: form.echo(), hints });
    }
    redirectTo(res, '/admin/settings', 'saved');
  }));

  router.get('/admin/audit', ...admin.page, asyncHandler(async (_req, res) => {
    const events = await AuditEvent.findAll({ where: { deploymentId: getSession(res).deployment.id }, order: [['createdAt', 'DESC']], limit: 200 });
    renderPage(res, 'admin/audit', 'Audit log', 'audit', { events: events.map(auditRow) });
  }));
  return router;
}
