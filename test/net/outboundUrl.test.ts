import { outboundUrlProblem } from '../../src/net/outboundUrl';

const prod = { allowLocalhost: false };
const dev = { allowLocalhost: true };

describe('outbound URL policy', () => {
  test.each([
    ['https://moodle.example.edu/mod/lti/certs.php', prod],
    ['https://sso.canvaslms.com/api/lti/security/jwks', prod],
    ['http://localhost:8080/jwks', dev],
    ['http://127.0.0.1:9000/v1', dev],
  ])('%s is allowed', (url, policy) => {
    expect(outboundUrlProblem(url, policy)).toBeNull();
  });

  test.each([
    ['http://moodle.example.edu/jwks', prod, /https/],
    ['http://localhost:8080/jwks', prod, /localhost/],
    ['https://127.0.0.1/jwks', prod, /localhost/],
    ['https://10.0.0.5/jwks', dev, /private/],
    ['https://192.168.1.10/jwks', dev, /private/],
    ['https://172.20.0.1/jwks', dev, /private/],
    ['https://169.254.169.254/latest/meta-data', dev, /private/],
    ['https://[::1]/jwks', prod, /localhost/],
    ['https://[fd00::1]/jwks', dev, /private/],
    ['https://user:pass@lms.example.edu/jwks', prod, /credentials/],
    ['ftp://lms.example.edu/jwks', prod, /https/],
    ['not a url', prod, /valid URL/],
  ])('%s is refused', (url, policy, reason) => {
    expect(outboundUrlProblem(url, policy)).toMatch(reason);
  });
});
