import { createHmac, randomBytes } from 'node:crypto';
import { Deployment } from '../models';

// Providers that accept an end-user field (OpenAI's `user`, Anthropic's `metadata.user_id`) get a
// salted hash of our user id instead of anything identifying, so a provider's abuse report can be
// traced back, by this deployment's admins only. The salt is per deployment and random (never
// SECRET_KEY): without it, nobody can link a hash to a user or across deployments.

/** The deployment's pseudonym salt, generated on first use; concurrent first uses agree on one. */
export async function pseudonymSalt(deploymentId: string): Promise<string> {
  const deployment = await Deployment.findByPk(deploymentId, { attributes: ['id', 'pseudonymSalt'] });
  if (!deployment) throw new Error('no such deployment');
  if (deployment.pseudonymSalt) return deployment.pseudonymSalt;
  // Only the first writer's salt is stored; everyone then reads that one.
  await Deployment.update({ pseudonymSalt: randomBytes(32).toString('hex') }, { where: { id: deploymentId, pseudonymSalt: null } });
  const stored = await Deployment.findByPk(deploymentId, { attributes: ['pseudonymSalt'] });
  return stored!.pseudonymSalt!;
}

const hmac = (salt: string, value: string) => createHmac('sha256', salt).update(value).digest('hex');

/** What a provider sees for this user of this deployment: `ffu-` and 32 hex characters. */
export async function providerUserId(deploymentId: string, userId: string): Promise<string> {
  return pseudonymFor(await pseudonymSalt(deploymentId), userId);
}

// Every provider call asks for one: the last few thousand are remembered (an HMAC per call was a
// measurable share of the per-call overhead). Keyed by salt too, so a new salt never reuses one.
const recent = new Map<string, string>();

/** The same, from a salt already read with the deployment (saves a query per provider call). */
export function pseudonymFor(salt: string, userId: string): string {
  const key = `${salt}:${userId}`;
  let pseudonym = recent.get(key);
  if (!pseudonym) {
    pseudonym = `ffu-${hmac(salt, `provider:${userId}`).slice(0, 32)}`;
    if (recent.size >= 5000) recent.delete(recent.keys().next().value!);
    recent.set(key, pseudonym);
  }
  return pseudonym;
}

/** The stable name an erased user keeps in audit rows and usage: `erased-` and 16 hex characters. */
export async function erasedPseudonym(deploymentId: string, userId: string): Promise<string> {
  return `erased-${hmac(await pseudonymSalt(deploymentId), `erased:${userId}`).slice(0, 16)}`;
}

export const PROVIDER_USER_ID = /^ffu-[0-9a-f]{32}$/;
