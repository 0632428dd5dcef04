import { randomUUID } from 'node:crypto';
import { Assignment, Deployment, Provider, Submission, User } from '../../src/models';
import { RUBRIC } from './feedback';
import type { Keyring } from '../../src/secrets/keyring';
import { keyFingerprint, keyHint, seal } from '../../src/secrets/vault';
import { providerBinding } from '../../src/secrets/storedSecrets';

// Factories create their parents with unique data, so tests isolate by data, never by truncation.

const unique = () => randomUUID().slice(0, 8);

export async function createDeployment(attrs: Partial<Deployment> = {}): Promise<Deployment> {
  return Deployment.create({
    issuer: attrs.issuer ?? `https://lms-${unique()}.example.edu`,
    clientId: attrs.clientId ?? `client-${unique()}`,
    deploymentId: attrs.deploymentId ?? `dep-${unique()}`,
    name: attrs.name ?? 'Test deployment',
  });
}

export async function createUser(deployment: Deployment, attrs: Partial<User> = {}): Promise<User> {
  return User.create({
    issuer: deployment.issuer,
    clientId: deployment.clientId,
    sub: attrs.sub ?? `user-${unique()}`,
    name: attrs.name ?? 'Test User',
    email: attrs.email ?? `user-${unique()}@example.edu`,
  });
}

/** An assignment of no course, with the test rubric and no models (tests that write runs themselves). */
export async function createAssignment(deployment: Deployment, creator: User, attrs: Partial<Assignment> = {}): Promise<Assignment> {
  return Assignment.create({
    deploymentId: deployment.id, resourceLinkId: null, contextId: null, title: 'Test assignment', instructions: 'Write.', rubric: RUBRIC, models: [],
    aggregation: 'mean', quorum: null, releaseMode: 'review', maxDrafts: 3, maxChars: 50000, gradePassback: false, lineItemUrl: null, createdByUserId: creator.id,
    ...attrs,
  });
}

/** A queued first draft by `student` (tests that write its runs themselves). */
export async function createSubmission(assignment: Assignment, student: User, text = 'Submission text.'): Promise<Submission> {
  return Submission.create({
    deploymentId: assignment.deploymentId, assignmentId: assignment.id, userId: student.id, draftNumber: 1, text, textSha256: 'x'.repeat(64), status: 'queued',
  });
}

/** A provider connection with a really sealed key, written the way the app writes it. */
export async function createProvider(
  keyring: Keyring,
  opts: { deployment?: Deployment; owner?: User | null; apiKey?: string; kind?: string; label?: string } = {},
): Promise<{ provider: Provider; apiKey: string }> {
  const deployment = opts.deployment ?? (await createDeployment());
  const apiKey = opts.apiKey ?? `sk-test-${randomUUID().replace(/-/g, '')}`;
  const id = randomUUID();
  const ownerType = opts.owner ? 'instructor' : 'system';
  const ownerUserId = opts.owner?.id ?? null;
  const sealed = seal(keyring, providerBinding({ id, deploymentId: deployment.id, ownerType, ownerUserId }), apiKey);
  const provider = await Provider.create({
    id,
    deploymentId: deployment.id,
    kind: opts.kind ?? 'openai',
    label: opts.label ?? 'Test connection',
    ownerType,
    ownerUserId,
    apiConfig: { secret: sealed },
    keyHint: keyHint(apiKey),
    keyFingerprint: keyFingerprint(apiKey),
  });
  return { provider, apiKey };
}
