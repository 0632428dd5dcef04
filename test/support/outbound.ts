import nock from 'nock';

// Tests reach no host outside the machine: nock answers for the LLM providers, and only local
// servers (the tool, the test LMS, the mock LLM) are reachable. Import this only from suites that
// run: nock stays active across jest files in a worker unless restoreOutbound() runs in afterAll.

export function blockOutbound(): void {
  if (!nock.isActive()) nock.activate();
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1|localhost/);
}

export function restoreOutbound(): void {
  nock.cleanAll();
  nock.enableNetConnect();
  nock.restore();
}
