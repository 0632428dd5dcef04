import { SignJWT } from 'jose';

// The ltik (launch token) every page and API call carries: HS256 with LTI_KEY, in the shape ltijs 5.9
// issues, naming the launch row (`s`, the login state) and who launched. We issue it ourselves
// rather than through ltijs's launch handler, which would also write its own copies of the launch
// (idtokens, contexttokens: five more statements per launch) that nothing reads. See session.ts for
// how it is checked (maximum age, launch row, deployment still active).

export interface LtikSubject {
  issuer: string;
  clientId: string;
  deploymentId: string;
  sub: string;
  /** The launch row id. */
  launchId: string;
}

const keys = new Map<string, Uint8Array>();

export async function signLtik(ltiKey: string, subject: LtikSubject): Promise<string> {
  let key = keys.get(ltiKey);
  if (!key) {
    key = new TextEncoder().encode(ltiKey);
    keys.set(ltiKey, key);
  }
  return new SignJWT({ platformUrl: subject.issuer, clientId: subject.clientId, deploymentId: subject.deploymentId, user: subject.sub, s: subject.launchId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .sign(key);
}
