import type { LaunchSession } from '../lti/session';
import type { Deployment } from '../models';
import { recordAudit } from './audit';
import { cleanText } from './validation';

// Per-deployment settings, stored in deployments.settings, always read through here so every
// setting has its built-in default.

export interface DefaultParams {
  temperature: number;
  maxTokens: number;
  topP: number;
}

export interface DeploymentSettings {
  /** Instructors may build instances on the institution's (system) connections. */
  allowInstructorSystemConnections: boolean;
  /** Parameters an instance gets when it does not set its own. */
  defaultParams: DefaultParams;
  /** Local host names an admin approved for OpenAI-compatible base URLs (e.g. an on-premise Ollama). */
  allowedLocalHosts: string[];
  /** How long submission text is kept (see src/privacy/retention.ts). */
  retention: RetentionPolicy;
  /** The data-use notice students accept before their first submission; null shows the built-in text. */
  dataNotice: string | null;
}

/** Text is removed `days` after release, or as soon as the feedback is released. */
export type RetentionPolicy = { mode: 'days_after_release'; days: number } | { mode: 'until_release' };

export const BUILT_IN_SETTINGS: DeploymentSettings = {
  allowInstructorSystemConnections: true,
  defaultParams: { temperature: 0.2, maxTokens: 1500, topP: 1 },
  allowedLocalHosts: [],
  retention: { mode: 'days_after_release', days: 180 },
  dataNotice: null,
};

/** The deployment's settings with built-in defaults for anything unset. */
export function settingsOf(deployment: Pick<Deployment, 'settings'>): DeploymentSettings {
  const stored = (deployment.settings ?? {}) as Partial<DeploymentSettings>;
  return {
    allowInstructorSystemConnections: stored.allowInstructorSystemConnections ?? BUILT_IN_SETTINGS.allowInstructorSystemConnections,
    defaultParams: { ...BUILT_IN_SETTINGS.defaultParams, ...(stored.defaultParams ?? {}) },
    allowedLocalHosts: stored.allowedLocalHosts ?? [],
    retention: stored.retention ?? BUILT_IN_SETTINGS.retention,
    dataNotice: stored.dataNotice ?? null,
  };
}

export type SettingsChanges = Partial<Omit<DeploymentSettings, 'defaultParams'>> & { defaultParams?: Partial<DefaultParams> };

/** Stores new settings merged over the current ones (default parameters field by field); audited. */
export async function updateSettings(session: LaunchSession, changes: SettingsChanges): Promise<DeploymentSettings> {
  const deployment = session.deployment;
  const current = settingsOf(deployment);
  const next: DeploymentSettings = { ...current, ...changes, defaultParams: { ...current.defaultParams, ...(changes.defaultParams ?? {}) } };
  // An emptied notice returns to the built-in one.
  if (changes.dataNotice !== undefined) next.dataNotice = cleanText(changes.dataNotice ?? '').trim() || null;
  await deployment.update({ settings: { ...(deployment.settings ?? {}), ...next } });
  await recordAudit(session, { action: 'settings.update', targetType: 'deployment', targetId: deployment.id, details: { changed: Object.keys(changes) } });
  return next;
}
