import type { LaunchSession } from '../lti/session';

/** GET /api/v1/me: who is signed in, in which tenant and course. Lists its fields; never a model. */
export function presentMe(session: LaunchSession) {
  const { user, deployment, launch, role } = session;
  return {
    user: { id: user.id, name: user.name },
    role,
    deployment: { id: deployment.id, issuer: deployment.issuer, clientId: deployment.clientId, deploymentId: deployment.deploymentId },
    context: { id: launch.contextId, title: launch.contextTitle },
  };
}
