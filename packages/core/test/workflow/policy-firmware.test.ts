import assert from 'node:assert/strict';
import type { Claims } from '../../src/attestation/claims.js';
import { evaluatePolicy, type PolicyEvidence } from '../../src/workflow/evaluate-policy.js';
import { parsePolicy, type Policy } from '../../src/workflow/policy.js';

const AT = new Date('2027-03-01T12:00:00Z');
const CLAIMS: Claims = { deviceIdentity: { idevid: true } };
const ONE = (body: string): Policy => parsePolicy(`name: t\nlogInclusion: optional\nproofOfPossession: optional\nrevocationCheck: optional\n${body}`, 't.yaml');

function evidence(over: Partial<PolicyEvidence> = {}): PolicyEvidence {
  return { claims: CLAIMS, crlsChecked: false, at: AT, ...over };
}

function check(p: Policy, e: PolicyEvidence, name: string) {
  const c = evaluatePolicy(p, e).checks.find((x) => x.name === name);
  assert.ok(c, `no check ${name}`);
  return c;
}

describe('workflow: signedFirmware and minFirmwareCounter', () => {
  it('parses both; signedFirmware defaults to optional, no counter floor by default', () => {
    const p = ONE('signedFirmware: required\nminFirmwareCounter: 7\n');
    assert.equal(p.signedFirmware, 'required');
    assert.equal(p.minFirmwareCounter, 7);
    const d = ONE('');
    assert.equal(d.signedFirmware, 'optional');
    assert.equal(d.minFirmwareCounter, undefined);
  });

  it('refuses malformed values with file, line and field', () => {
    const bad = (body: string, line: number, fragment: string) =>
      assert.throws(
        () => parsePolicy(`name: p\n${body}`, 'p.yaml'),
        (e: any) => e.code === 'ERR_POLICY_INVALID' && e.message.startsWith(`p.yaml:${line}: `) && e.message.includes(fragment),
      );
    bad('signedFirmware: yes\n', 2, 'signedFirmware: "yes" is not one of required, optional');
    bad('minFirmwareCounter: -1\n', 2, 'minFirmwareCounter: must be at least 0');
    bad('minFirmwareCounter: "3"\n', 2, 'minFirmwareCounter');
    bad('minFirmwareCounter: 1.5\n', 2, 'minFirmwareCounter');
  });

  it('required fails closed without release evidence, with no installed firmware, and with a failed firmware check', () => {
    const p = ONE('signedFirmware: required\n');
    const none = check(p, evidence(), 'signedFirmware');
    assert.equal(none.code, 'ERR_POLICY_SIGNED_FIRMWARE');
    assert.match(none.reason!, /--releases/);
    assert.equal(check(p, evidence({ firmware: { ok: true, installs: 0 } }), 'signedFirmware').code, 'ERR_POLICY_SIGNED_FIRMWARE');
    assert.equal(check(p, evidence({ firmware: { ok: false, installs: 2 } }), 'signedFirmware').code, 'ERR_POLICY_SIGNED_FIRMWARE');
    assert.equal(evaluatePolicy(p, evidence({ firmware: { ok: true, installs: 1, counter: 3 } })).ok, true);
  });

  it('optional passes whatever the evidence and says what was missing', () => {
    const c = check(ONE(''), evidence(), 'signedFirmware');
    assert.equal(c.ok, true);
    assert.match(c.reason!, /^optional; not checked/);
  });

  it('minFirmwareCounter takes the counter of a matched release only', () => {
    const p = ONE('minFirmwareCounter: 5\n');
    assert.equal(evaluatePolicy(p, evidence({ firmware: { ok: true, installs: 1, counter: 5 } })).ok, true);
    assert.equal(evaluatePolicy(p, evidence({ firmware: { ok: true, installs: 1, counter: 4 } })).code, 'ERR_POLICY_FIRMWARE_COUNTER');
    assert.equal(evaluatePolicy(p, evidence()).code, 'ERR_POLICY_FIRMWARE_COUNTER');
    // A counter from a chain whose firmware check failed proves nothing.
    assert.equal(evaluatePolicy(p, evidence({ firmware: { ok: false, installs: 1, counter: 9 } })).code, 'ERR_POLICY_FIRMWARE_COUNTER');
  });
});
