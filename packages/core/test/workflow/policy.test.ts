import assert from 'node:assert/strict';
import type { Claims } from '../../src/attestation/claims.js';
import { evaluatePolicy, type PolicyEvidence } from '../../src/workflow/evaluate-policy.js';
import { builtinPolicyNames, parsePolicy, type Policy } from '../../src/workflow/policy.js';
import type { EvaluationReport } from '../../src/workflow/report.js';
import { BIRTH_CLAIMS, INTEGRATION_CLAIMS, workflowFile } from './fixtures.js';

const AT = new Date('2027-03-01T12:00:00Z');
const FULL: Claims = { ...BIRTH_CLAIMS, ...INTEGRATION_CLAIMS, storageEncryption: { enabled: true, algorithm: 'AES-256-XTS' } };

function evidence(over: Partial<PolicyEvidence> = {}): PolicyEvidence {
  return {
    claims: FULL,
    logIncluded: true,
    proofOfPossession: true,
    crlsChecked: true,
    chainTimes: [new Date('2026-11-24T15:00:00Z')],
    at: AT,
    firmware: { ok: true, installs: 1, counter: 3 },
    ...over,
  };
}

function builtin(name: string): Policy {
  return parsePolicy(workflowFile(`policies/${name}.yaml`), `workflows/policies/${name}.yaml`);
}

function check(report: EvaluationReport, name: string) {
  const c = report.checks.find((x) => x.name === name);
  assert.ok(c, `no check ${name} in ${report.checks.map((x) => x.name).join(', ')}`);
  return c;
}

const ONE = (body: string): Policy => parsePolicy(`name: t\n${body}`, 't.yaml');

function assertInvalid(text: string, line: number, fragment: string): void {
  assert.throws(
    () => parsePolicy(text, 'my-policy.yaml'),
    (e: any) => {
      assert.equal(e.code, 'ERR_POLICY_INVALID');
      assert.equal(e.category, 'input', 'a malformed policy is bad input, not a rejection');
      assert.match(e.message, new RegExp(`^my-policy\\.yaml:${line}: `));
      assert.ok(e.message.includes(fragment), e.message);
      return true;
    },
  );
}

describe('workflow: parsePolicy', () => {
  it('parses the three shipped policies', () => {
    assert.deepEqual([...builtinPolicyNames()], ['baseline', 'retail', 'healthcare']);
    for (const name of builtinPolicyNames()) assert.equal(builtin(name).name, name);
    const h = builtin('healthcare');
    assert.equal(h.logInclusion, 'required');
    assert.equal(h.proofOfPossession, 'required');
    assert.equal(h.revocationCheck, 'required');
    assert.equal(h.allowUnknownVendorClaims, false);
    assert.equal(h.signedFirmware, 'required');
    assert.equal(builtin('retail').signedFirmware, 'optional');
    const paths = h.require.map((r) => r.path.text);
    for (const p of [
      'secureBoot.enabled',
      'storageEncryption.enabled',
      'debugPorts.state',
      'signedUpdates.enabled',
      'firmware.sha256',
      'deviceIdentity.idevid',
    ]) {
      assert.ok(paths.includes(p), p);
    }
    assert.deepEqual(h.require.find((r) => r.path.text === 'debugPorts.state')!.oneOf, ['locked', 'disabled']);
    const b = builtin('baseline');
    assert.deepEqual(
      b.require.map((r) => r.path.text),
      ['deviceIdentity.idevid'],
    );
    assert.equal(b.logInclusion, 'optional');
  });

  it('defaults evidence rules to required and vendor claims to allowed', () => {
    const p = ONE('');
    assert.deepEqual([p.logInclusion, p.proofOfPossession, p.revocationCheck, p.allowUnknownVendorClaims], ['required', 'required', 'required', true]);
    assert.deepEqual(ONE('maxChainAge: 30\n').maxChainAge, { years: 0, months: 0, weeks: 0, days: 30, hours: 0, minutes: 0, seconds: 0 });
    assert.equal(ONE('maxChainAge: P1Y6M\n').maxChainAge!.months, 6);
  });

  describe('refuses malformed input with file, line and field', () => {
    it('unknown field', () => assertInvalid('name: p\nlogInclusions: required\n', 2, 'logInclusions: unknown field'));
    it('bad evidence rule', () => assertInvalid('name: p\nrevocationCheck: yes\n', 2, 'revocationCheck: "yes" is not one of required, optional'));
    it('wrong type', () => assertInvalid('name: p\nallowUnknownVendorClaims: "no"\n', 2, 'allowUnknownVendorClaims: expected true or false'));
    it('missing name', () => assertInvalid('description: x\n', 1, '(document): missing required field "name"'));
    it('unknown claim', () =>
      assertInvalid('name: p\nrequire:\n  - claim: secureboot.enabled\n    equals: true\n', 3, 'require[0].claim: unknown claim "secureboot"'));
    it('unknown requirement key', () => assertInvalid('name: p\nrequire:\n  - claim: secureBoot.enabled\n    is: true\n', 4, 'require[0].is: unknown field'));
    it('both equals and oneOf', () =>
      assertInvalid('name: p\nrequire:\n  - claim: debugPorts.state\n    equals: locked\n    oneOf: [locked]\n', 3, 'give either "equals" or "oneOf"'));
    it('value outside the vocabulary', () =>
      assertInvalid(
        'name: p\nrequire:\n  - claim: debugPorts.state\n    oneOf: [locked, welded]\n',
        4,
        'require[0].oneOf[1]: debugPorts.state is one of locked, disabled, open, not "welded"',
      ));
    it('value on a whole claim', () => assertInvalid('name: p\nrequire:\n  - claim: secureBoot\n    equals: true\n', 3, 'names a whole claim'));
    it('duplicate requirement', () => assertInvalid('name: p\nrequire:\n  - firmware\n  - firmware\n', 4, 'firmware is already required above'));
    it('bad duration', () => assertInvalid('name: p\nmaxChainAge: 1 year\n', 2, 'maxChainAge: "1 year" is not a number of days'));
    it('zero days', () => assertInvalid('name: p\nmaxChainAge: 0\n', 2, 'maxChainAge: must be at least 1'));
    it('bad vendor claim name', () =>
      assertInvalid('name: p\nknownVendorClaims: [calibration]\n', 2, 'knownVendorClaims[0]: "calibration" is not a vendor claim name'));
    it('YAML syntax error', () => assertInvalid('name: p\nrequire: [firmware\n', 3, ''));
  });
});

describe('workflow: evaluatePolicy', () => {
  it('healthcare accepts a fully attested chain with all evidence', () => {
    const report = evaluatePolicy(builtin('healthcare'), evidence());
    assert.equal(report.ok, true, JSON.stringify(report.checks.filter((c) => !c.ok)));
    assert.ok(report.checks.every((c) => c.ok));
    const unchecked = evaluatePolicy(builtin('healthcare'), evidence({ firmware: undefined }));
    assert.equal(unchecked.code, 'ERR_POLICY_SIGNED_FIRMWARE', 'healthcare requires signed firmware');
  });

  it('healthcare rejects a chain lacking encrypted storage; baseline accepts it', () => {
    const { storageEncryption: _gone, ...claims } = FULL;
    const h = evaluatePolicy(builtin('healthcare'), evidence({ claims }));
    assert.equal(h.ok, false);
    assert.equal(h.code, 'ERR_POLICY_CLAIM_MISSING');
    assert.equal(check(h, 'claim storageEncryption.enabled = true').reason, 'storageEncryption.enabled is not attested');
    const b = evaluatePolicy(builtin('baseline'), { claims, logIncluded: undefined, proofOfPossession: undefined, crlsChecked: false, at: AT });
    assert.equal(b.ok, true, JSON.stringify(b.checks.filter((c) => !c.ok)));
  });

  it('present, equals and oneOf requirements pass and fail with their codes', () => {
    const p = ONE(
      'require:\n  - firmware.sha256\n  - claim: secureBoot.enabled\n    equals: true\n  - claim: debugPorts.state\n    oneOf: [locked, disabled]\nlogInclusion: optional\nproofOfPossession: optional\nrevocationCheck: optional\n',
    );
    assert.equal(evaluatePolicy(p, evidence()).ok, true);
    const bad = evaluatePolicy(p, evidence({ claims: { secureBoot: { enabled: false }, debugPorts: { state: 'open' } } }));
    assert.equal(check(bad, 'claim firmware.sha256').code, 'ERR_POLICY_CLAIM_MISSING');
    assert.equal(check(bad, 'claim secureBoot.enabled = true').code, 'ERR_POLICY_CLAIM_VALUE');
    assert.equal(check(bad, 'claim secureBoot.enabled = true').reason, 'secureBoot.enabled is false, expected true');
    assert.equal(check(bad, 'claim debugPorts.state in ["locked", "disabled"]').code, 'ERR_POLICY_CLAIM_VALUE');
    assert.equal(check(bad, 'claim debugPorts.state in ["locked", "disabled"]').reason, 'debugPorts.state is "open", expected one of "locked", "disabled"');
    assert.equal(bad.code, 'ERR_POLICY_CLAIM_MISSING');
  });

  it('log inclusion, possession and revocation: required fails when absent, optional passes', () => {
    const required = ONE('');
    const none = evaluatePolicy(required, evidence({ logIncluded: undefined, proofOfPossession: false, crlsChecked: false }));
    assert.equal(check(none, 'logInclusion').code, 'ERR_POLICY_LOG_INCLUSION');
    assert.match(check(none, 'logInclusion').reason!, /not checked/);
    assert.equal(check(none, 'proofOfPossession').code, 'ERR_POLICY_POSSESSION');
    assert.equal(check(none, 'revocationCheck').code, 'ERR_POLICY_REVOCATION');
    assert.match(check(none, 'revocationCheck').reason!, /supply CRLs/);
    assert.equal(evaluatePolicy(required, evidence()).ok, true);
    const optional = ONE('logInclusion: optional\nproofOfPossession: optional\nrevocationCheck: optional\n');
    const report = evaluatePolicy(optional, evidence({ logIncluded: undefined, proofOfPossession: undefined, crlsChecked: false }));
    assert.equal(report.ok, true);
    assert.match(check(report, 'proofOfPossession').reason!, /optional; not checked/);
  });

  it('maxChainAge in days and as an ISO 8601 duration', () => {
    const days = ONE('maxChainAge: 90\n');
    assert.equal(evaluatePolicy(days, evidence({ at: new Date('2027-02-22T15:00:00Z') })).ok, true);
    assert.match(check(evaluatePolicy(days, evidence()), 'maxChainAge').reason!, /more than P90D/);
    assert.equal(evaluatePolicy(days, evidence({ at: new Date('2027-02-22T15:00:01Z') })).code, 'ERR_POLICY_CHAIN_AGE');
    const month = ONE('maxChainAge: P1M\n');
    const jan31 = [new Date('2027-01-31T00:00:00Z')];
    assert.equal(evaluatePolicy(month, evidence({ chainTimes: jan31, at: new Date('2027-02-28T00:00:00Z') })).ok, true);
    assert.equal(evaluatePolicy(month, evidence({ chainTimes: jan31, at: new Date('2027-02-28T00:00:01Z') })).code, 'ERR_POLICY_CHAIN_AGE');
    assert.match(check(evaluatePolicy(month, evidence({ chainTimes: [] })), 'maxChainAge').reason!, /no attestation times/);
  });

  it('refuses unknown vendor claims when the policy says so', () => {
    const strict = ONE('allowUnknownVendorClaims: false\nknownVendorClaims: [acme.example/calibration]\nrequire:\n  - acme.example/line.station\n');
    const claims = { ...FULL, 'acme.example/calibration': { offset: 2 }, 'acme.example/line': { station: 4 } } as Claims;
    assert.equal(evaluatePolicy(strict, evidence({ claims })).ok, true);
    const extra = evaluatePolicy(strict, evidence({ claims: { ...claims, 'other.example/tracker': true } as Claims }));
    assert.equal(extra.code, 'ERR_POLICY_VENDOR_CLAIM');
    assert.match(check(extra, 'vendorClaims').reason!, /other\.example\/tracker/);
    assert.equal(evaluatePolicy(ONE(''), evidence({ claims: { ...claims, 'other.example/tracker': true } as Claims })).ok, true);
  });

  it('healthcare rejects open debug ports and missing evidence with one check per requirement', () => {
    const report = evaluatePolicy(
      builtin('healthcare'),
      evidence({ claims: { ...FULL, debugPorts: { state: 'open' } }, logIncluded: false, crlsChecked: false }),
    );
    const codes = report.checks.filter((c) => !c.ok).map((c) => c.code);
    assert.deepEqual(codes, ['ERR_POLICY_CLAIM_VALUE', 'ERR_POLICY_LOG_INCLUSION', 'ERR_POLICY_REVOCATION']);
  });

  it('refuses an invalid evaluation time with TypeError', () => {
    assert.throws(() => evaluatePolicy(ONE(''), evidence({ at: new Date('nope') })), TypeError);
  });
});
