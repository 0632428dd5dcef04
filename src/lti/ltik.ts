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

/** The HS256 key of LTI_KEY, for signing here and verifying in session.ts (encoded once per value: every request verifies). */
let encoded: { ltiKey: string; key: Uint8Array } | undefined;
export function ltikKey(ltiKey: string): Uint8Array {
  if (encoded?.ltiKey !== ltiKey) encoded = { ltiKey, key: new TextEncoder().encode(ltiKey) };
  return encoded.key;
}

export async function signLtik(ltiKey: string, subject: LtikSubject): Promise<string> {
  const key = ltikKey(ltiKey);
  return new SignJWT({ platformUrl: subject.issuer, clientId: subject.clientId, deploymentId: subject.deploymentId, user: subject.sub, s: subject.launchId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .sign(key);
}
