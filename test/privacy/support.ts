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
