import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { signCode } from '../../src/code/code-signature.js';
import { CodeChecker } from '../../src/code-policy/code-checker.js';
import { parseCodeValidationClaim } from '../../src/code-policy/code-validation-claim.js';
import { toBase64, utf8 } from '../../src/util/bytes.js';
import { makeCodeSigner, makeRoot, NOW, provider, type CodeSigner, type Holder } from '../code/fixtures.js';

const SCRIPT = utf8('#!/bin/sh\necho "rotate the logs"\n');

/** Scripts enforced and configuration audited under one folder: the scope is picked by the signed type. */
function checkerFor(root: Holder): CodeChecker {
  const claim = {
    enabled: true,
    policy: 'edge',
    identities: [{ name: 'owner', kind: 'ca', sha256: createHash('sha256').update(root.der).digest('hex'), certificate: toBase64(root.der) }],
    scopes: [
      { name: 'scripts', types: ['script'], paths: ['/opt/edge/**'], level: 'enforce', signers: ['owner'] },
      { name: 'config', types: ['config'], paths: ['/opt/edge/**'], level: 'audit', signers: ['owner'] },
    ],
  };
  return new CodeChecker(parseCodeValidationClaim(claim), provider);
}

describe('code-policy/CodeChecker: hostile inputs', () => {
  let root: Holder;
  let owner: CodeSigner;
  let stranger: CodeSigner;
  before(async () => {
    root = await makeRoot('Fabrikam code CA');
    owner = await makeCodeSigner(root, 'fabrikam-ops');
    stranger = await makeCodeSigner(await makeRoot('Mallory code CA'), 'mallory');
  });

  it('does not let a signature that does not verify pick a lenient scope by the type it states', async () => {
    // Mallory's script, signed by nobody the owner trusts, claims to be configuration: the audit scope must not
    // allow it where an enforce scope covers the same path.
    const sig = (await signCode(stranger.signer, { name: 'run.sh', content: SCRIPT, type: 'config', time: NOW })).der;
    const d = await checkerFor(root).check({ path: '/opt/edge/run.sh', file: SCRIPT, signature: sig, now: NOW });
    assert.equal(d.ok, false);
    assert.equal(d.code, 'ERR_CODE_SIGNER_UNTRUSTED');
    assert.equal(d.allowed, false);
    assert.equal(d.level, 'enforce');
  });

  it('still allows and reports a failure where every scope covering the path audits', async () => {
    const sig = (await signCode(stranger.signer, { name: 'x.yaml', content: SCRIPT, type: 'config', time: NOW })).der;
    const claim = {
      enabled: true,
      policy: 'audit',
      identities: [{ name: 'owner', kind: 'ca', sha256: createHash('sha256').update(root.der).digest('hex'), certificate: toBase64(root.der) }],
      scopes: [{ name: 'all', types: ['script', 'app', 'config'], paths: ['**'], level: 'audit', signers: ['owner'] }],
    };
    const d = await new CodeChecker(parseCodeValidationClaim(claim), provider).check({ path: '/etc/x.yaml', file: SCRIPT, signature: sig, now: NOW });
    assert.deepEqual([d.ok, d.allowed, d.level, d.code, d.scope], [false, true, 'audit', 'ERR_CODE_SIGNER_UNTRUSTED', 'all']);
  });

  it('refuses a path that climbs out of a scope with ".." (ERR_CODE_SCOPE)', async () => {
    const sig = (await signCode(owner.signer, { name: 'run.sh', content: SCRIPT, type: 'script', time: NOW })).der;
    const c = checkerFor(root);
    assert.equal((await c.check({ path: '/opt/edge/run.sh', file: SCRIPT, signature: sig, now: NOW })).allowed, true);
    for (const path of ['/opt/edge/../../usr/bin/run.sh', '/opt/edge/./../sbin/init', '/opt/edge/..']) {
      const d = await c.check({ path, file: SCRIPT, signature: sig, now: NOW });
      assert.deepEqual([d.ok, d.allowed, d.code], [false, false, 'ERR_CODE_SCOPE'], path);
    }
  });
});
