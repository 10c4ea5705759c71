import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCodeValidationClaim, parseCodeValidationClaim } from '../../src/code-policy/code-validation-claim.js';
import { parseCodePolicy } from '../../src/code-policy/code-policy.js';

/** A self-signed P-256 certificate made by openssl, CA or not. */
function certificate(dir: string, name: string, ca: boolean): Uint8Array {
  const ext = ca ? 'basicConstraints=critical,CA:TRUE' : 'basicConstraints=critical,CA:FALSE';
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      `/CN=${name}`,
      '-days',
      '2',
      '-keyout',
      join(dir, `${name}.key`),
      '-outform',
      'DER',
      '-out',
      join(dir, `${name}.der`),
      '-addext',
      ext,
    ],
    { stdio: 'ignore' },
  );
  return new Uint8Array(readFileSync(join(dir, `${name}.der`)));
}

const POLICY = `name: edge
version: 1
identities:
  - name: owner
    ca: code-ca
  - name: bot
    pinnedSha256: "${'00'.repeat(32)}"
scopes:
  - name: scripts
    types: [script]
    paths: ["/opt/**"]
    level: enforce
    signers: [owner, bot]
`;

describe('the codeValidation claim', () => {
  let dir: string;
  let ca: Uint8Array;
  let leaf: Uint8Array;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'custody-claim-'));
    ca = certificate(dir, 'ca', true);
    leaf = certificate(dir, 'bot', false);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const claimFor = () => {
    const policy = parseCodePolicy(POLICY.replace('00'.repeat(32), createHash('sha256').update(leaf).digest('hex')), 'p.yaml');
    return createCodeValidationClaim(
      policy,
      new Map([
        ['owner', ca],
        ['bot', leaf],
      ]),
    );
  };

  it('round-trips: what the activation signs is what the device enrolls', () => {
    const enrolled = parseCodeValidationClaim(JSON.parse(JSON.stringify(claimFor())));
    assert.equal(enrolled.policy, 'edge');
    assert.deepEqual(
      enrolled.identities.map((i) => [i.name, i.kind, i.certificate.subject.text]),
      [
        ['owner', 'ca', 'CN=ca'],
        ['bot', 'pinned', 'CN=bot'],
      ],
    );
    assert.equal(enrolled.scopes[0]!.patterns.length, 1);
  });

  it('refuses a certificate that is not the one the policy names by hash, or not of its kind (ERR_CODE_POLICY_CERT)', () => {
    const policy = parseCodePolicy(POLICY, 'p.yaml');
    assert.throws(
      () =>
        createCodeValidationClaim(
          policy,
          new Map([
            ['owner', ca],
            ['bot', leaf],
          ]),
        ),
      { code: 'ERR_CODE_POLICY_CERT' },
    );
    const swapped = parseCodePolicy(POLICY.replace(/ {4}pinnedSha256: .*/, '    ca: other'), 'p.yaml');
    assert.throws(
      () =>
        createCodeValidationClaim(
          swapped,
          new Map([
            ['owner', leaf],
            ['bot', ca],
          ]),
        ),
      { code: 'ERR_CODE_POLICY_CERT' },
    );
  });

  it('reads a malformed claim as ERR_ENROLL_CLAIM, naming the field', () => {
    const good = () => JSON.parse(JSON.stringify(claimFor()));
    const cases: Array<[string, (c: any) => unknown]> = [
      // eslint-disable-line @typescript-eslint/no-explicit-any
      ['codeValidation is not an object', () => 'x'],
      ['enabled is not true', (c) => ({ ...c, enabled: false })],
      ['"extra" is not a field', (c) => ({ ...c, extra: 1 })],
      ['identities is not a non-empty list', (c) => ({ ...c, identities: [] })],
      ['identities\\[0\\].sha256 is not the SHA-256', (c) => ((c.identities[0].sha256 = 'ab'.repeat(32)), c)],
      ['identities\\[0\\].certificate is not base64', (c) => ((c.identities[0].certificate = '!!'), c)],
      [
        'identities\\[1\\].certificate does not parse',
        (c) => ((c.identities[1].certificate = 'AAAA'), (c.identities[1].sha256 = createHash('sha256').update(new Uint8Array(3)).digest('hex')), c),
      ],
      ['scopes\\[0\\].signers\\[0\\] "nobody" is not an identity', (c) => ((c.scopes[0].signers = ['nobody']), c)],
      ['scopes\\[0\\].paths\\[0\\] may hold only', (c) => ((c.scopes[0].paths = ['/opt/[x]']), c)],
      ['scopes\\[0\\].level is not one of enforce, audit', (c) => ((c.scopes[0].level = 'strict'), c)],
      ['identities names an identity twice', (c) => ((c.identities[1].name = 'owner'), (c.scopes[0].signers = ['owner']), c)],
    ];
    for (const [message, edit] of cases) {
      assert.throws(
        () => parseCodeValidationClaim(edit(good())),
        (e: { code: string; message: string }) => {
          assert.equal(e.code, 'ERR_ENROLL_CLAIM', message);
          assert.match(e.message, new RegExp(message), message);
          return true;
        },
      );
    }
  });
});
