import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { LtiHarness } from './lti';

// Real ltiks for the usual cast of a deployment, from real launches through the test platform.

export interface Cast {
  admin: string;
  instructor: string;
  otherInstructor: string;
  student: string;
  /** An admin of another deployment of the same platform. */
  foreignAdmin: string;
}

export async function launchCast(h: LtiHarness, otherDeploymentId: string): Promise<Cast> {
  const ltik = async (fixture: Parameters<LtiHarness['launch']>[0], opts: Parameters<LtiHarness['launch']>[1] = {}) => {
    const result = await h.launch(fixture, opts);
    if (!result.ltik) throw new Error(`launch of ${fixture} failed: ${result.status} ${result.body.slice(0, 200)}`);
    return result.ltik;
  };
  return {
    admin: await ltik('moodle-admin'),
    instructor: await ltik('moodle-teacher'),
    otherInstructor: await ltik('moodle-teacher', { claims: { sub: `teacher-${randomUUID()}`, name: 'Other Teacher' } }),
    student: await ltik('moodle-student'),
    foreignAdmin: await ltik('moodle-admin', { deploymentId: otherDeploymentId }),
  };
}

/** A supertest call as the holder of this ltik. */
export function as(h: LtiHarness, ltik: string | undefined) {
  const app = request(h.ctx.app);
  const auth = (r: request.Test) => (ltik ? r.set('Authorization', `Bearer ${ltik}`) : r);
  return {
    get: (url: string) => auth(app.get(url)),
    post: (url: string, body?: object) => auth(app.post(url)).send(body ?? {}),
    patch: (url: string, body?: object) => auth(app.patch(url)).send(body ?? {}),
    put: (url: string, body?: object) => auth(app.put(url)).send(body ?? {}),
    delete: (url: string) => auth(app.delete(url)),
  };
}

export const OPENAI_KEY = () => `sk-test${randomUUID().replace(/-/g, '')}`;

/** The student behind this ltik reads and accepts their deployment's data-use notice (required before submitting). */
export async function acceptDataNotice(h: LtiHarness, ltik: string): Promise<void> {
  const notice = await as(h, ltik).get('/api/v1/notice');
  const res = await as(h, ltik).post('/api/v1/notice/accept', { version: notice.body.version });
  if (res.status !== 200) throw new Error(`accepting the data-use notice failed: ${res.status} ${res.text.slice(0, 200)}`);
}
