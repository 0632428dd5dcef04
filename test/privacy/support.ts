import { randomUUID } from 'node:crypto';
import { Run, Submission } from '../../src/models';
import { acceptDataNotice, as, OPENAI_KEY } from '../support/api';
import { RUBRIC, feedbackJson } from '../support/feedback';
import type { LtiHarness } from '../support/lti';
import { CLAIM } from '../support/platform';

// A course with an assignment on a fresh link of the harness's deployment, made through the API
// (no provider call is needed to set it up), and students who launch that link.

export interface Course {
  admin: string;
  teacher: string;
  assignmentId: string;
  link: Record<string, unknown>;
}

export async function courseWithAssignment(h: LtiHarness): Promise<Course> {
  const admin = (await h.launch('moodle-admin')).ltik!;
  const provider = await as(h, admin).post('/api/v1/providers', { kind: 'openai', label: `Privacy ${randomUUID().slice(0, 6)}`, apiKey: OPENAI_KEY(), scope: 'system' });
  const instance = await as(h, admin).post('/api/v1/instances', { name: 'GPT mini', providerId: provider.body.id, model: 'gpt-4o-mini', scope: 'system' });
  const link = { [CLAIM.resourceLink]: { id: `rl-${randomUUID().slice(0, 8)}`, title: 'Privacy essay' } };
  const teacher = (await h.launch('moodle-teacher', { claims: link })).ltik!;
  const assignment = await as(h, teacher).post('/api/v1/assignments', { title: 'Privacy essay', instructions: 'Write.', rubric: RUBRIC, models: [{ instanceId: instance.body.id, runs: 1, weight: 1 }], maxDrafts: 5 });
  if (assignment.status !== 201) throw new Error(`assignment: ${assignment.status} ${assignment.text}`);
  return { admin, teacher, assignmentId: assignment.body.id as string, link };
}

/** A student of the course's link with these identity claims; accepts the notice unless told not to. */
export async function launchStudent(h: LtiHarness, course: Course, identity: Record<string, unknown>, accept = true): Promise<string> {
  const result = await h.launch('moodle-student', { claims: { ...course.link, ...identity } });
  if (!result.ltik) throw new Error(`student launch failed: ${result.status}`);
  if (accept) await acceptDataNotice(h, result.ltik);
  return result.ltik;
}

/** What a finished worker and a release leave: a succeeded run with output and usage, released feedback. */
export async function releaseAsIfReviewed(submissionId: string, releasedAt: Date): Promise<void> {
  const output = feedbackJson(4, 8, 'privacy');
  await Run.update({ status: 'succeeded', output, tokensIn: 1000, tokensOut: 200, costMicros: 345, latencyMs: 1200, finishedAt: releasedAt }, { where: { submissionId } });
  await Submission.update({ status: 'released', feedback: output, overallScore: 11, releasedAt }, { where: { id: submissionId } });
}

/**
 * The copies of a launch that ltijs's own launch handler kept (idtokens, contexttokens) until the tool
 * issued ltiks itself. Databases from before still hold them, so export and erasure must cover them:
 * written here with ltijs's database plugin, in the shapes ltijs 5.9 used (Provider.js, launch).
 */
export async function legacyLtijsCopies(
  h: LtiHarness,
  launch: { issuer: string; clientId: string; deploymentId: string; platformId: string; sub: string; name: string; email: string; courseId: string; resourceId: string },
): Promise<void> {
  const db = h.ctx.app.lti.Database as { Replace(key: false, table: string, info: Record<string, unknown>, item: Record<string, unknown>): Promise<boolean> };
  const { issuer: iss, clientId, deploymentId, sub: user } = launch;
  await db.Replace(false, 'idtoken', { iss, clientId, deploymentId, user }, {
    iss, user, clientId, deploymentId, platformId: launch.platformId,
    userInfo: { name: launch.name, email: launch.email }, platformInfo: { product_family_code: 'moodle' },
  });
  const contextId = encodeURIComponent(`${iss}${clientId}${deploymentId}${launch.courseId}_${launch.resourceId}_${randomUUID().replace(/-/g, '')}`);
  await db.Replace(false, 'contexttoken', { contextId, user }, {
    contextId, user, path: '/launch', roles: ['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner'],
    context: { id: launch.courseId }, resource: { id: launch.resourceId }, messageType: 'LtiResourceLinkRequest', version: '1.3.0',
  });
}
