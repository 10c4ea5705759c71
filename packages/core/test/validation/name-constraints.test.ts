import assert from 'node:assert/strict';
import { checkNameConstraints, invalidConstraintReason, isValidDNSName } from '../../src/validation/name-constraints.js';
import type { ParsedCertificate } from '../../src/validation/certificate.js';
import type { GeneralName } from '../../src/validation/general-name.js';
import type { NameConstraints } from '../../src/validation/extensions.js';
import { parseName } from '../../src/validation/name.js';
import { cnName } from './fixtures.js';

const raw = new Uint8Array(0);
const dns = (value: string): GeneralName => ({ kind: 'dNSName', value, raw });
const email = (value: string): GeneralName => ({ kind: 'rfc822Name', value, raw });
const ip = (...bytes: number[]): GeneralName => ({ kind: 'iPAddress', bytes: Uint8Array.from(bytes), raw });

function subjectWith(san: GeneralName[], cn = 'device'): ParsedCertificate {
  return { subject: parseName(cnName(cn)), subjectAltName: san } as unknown as ParsedCertificate;
}

function check(san: GeneralName[], nc: NameConstraints, cn?: string): string | undefined {
  return checkNameConstraints(subjectWith(san, cn), nc, { left: 1e6 })?.code;
}

const sub = (base: GeneralName) => ({ base, minimum: 0 });

describe('name constraints', () => {
  it('match dNSName subtrees by whole labels', () => {
    const nc = { permitted: [sub(dns('example.com'))] };
    assert.equal(check([dns('a.example.com')], nc), undefined);
    assert.equal(check([dns('EXAMPLE.com')], nc), undefined);
    assert.equal(check([dns('badexample.com')], nc), 'ERR_CHAIN_NAME_CONSTRAINTS');
  });

  it('judge a wildcard by every name it could match (CVE-2025-61727)', () => {
    assert.equal(check([dns('*.example.com')], { excluded: [sub(dns('bar.example.com'))] }), 'ERR_CHAIN_NAME_CONSTRAINTS');
    assert.equal(check([dns('*.example.com')], { permitted: [sub(dns('bar.example.com'))] }), 'ERR_CHAIN_NAME_CONSTRAINTS');
    assert.equal(check([dns('*.example.com')], { permitted: [sub(dns('example.com'))] }), undefined);
  });

  it('match rfc822Name mailboxes, hosts and domains', () => {
    assert.equal(check([email('ops@example.com')], { permitted: [sub(email('ops@example.com'))] }), undefined);
    assert.equal(check([email('dev@example.com')], { permitted: [sub(email('ops@example.com'))] }), 'ERR_CHAIN_NAME_CONSTRAINTS');
    assert.equal(check([email('dev@Example.com')], { permitted: [sub(email('example.com'))] }), undefined);
    assert.equal(check([email('dev@eu.example.com')], { permitted: [sub(email('.example.com'))] }), undefined);
    assert.equal(check([email('dev@example.com')], { permitted: [sub(email('.example.com'))] }), 'ERR_CHAIN_NAME_CONSTRAINTS');
  });

  it('match iPAddress ranges of the same family only', () => {
    const nc = { permitted: [sub(ip(10, 1, 0, 0, 255, 255, 0, 0))] };
    assert.equal(check([ip(10, 1, 2, 3)], nc), undefined);
    assert.equal(check([ip(10, 2, 2, 3)], nc), 'ERR_CHAIN_NAME_CONSTRAINTS');
    assert.equal(check([ip(...new Array(16).fill(0))], nc), 'ERR_CHAIN_NAME_CONSTRAINTS');
  });

  it('apply directoryName subtrees to the subject', () => {
    const base: GeneralName = { kind: 'directoryName', name: parseName(cnName('device')), raw };
    assert.equal(check([], { permitted: [sub(base)] }, 'device'), undefined);
    assert.equal(check([], { permitted: [sub(base)] }, 'other'), 'ERR_CHAIN_NAME_CONSTRAINTS');
    assert.equal(check([], { excluded: [sub(base)] }, 'DEVICE'), 'ERR_CHAIN_NAME_CONSTRAINTS');
  });

  it('refuse a name form they cannot process when a constraint of that form exists', () => {
    const on: GeneralName = { kind: 'otherName', typeId: '1.3.6.1.5.5.7.8.4', value: raw, raw };
    assert.equal(check([on], { excluded: [sub(on)] }), 'ERR_CHAIN_NAME_CONSTRAINTS');
    assert.equal(check([on], { excluded: [sub(dns('example.com'))] }), undefined);
  });

  it('stop at the work bound with ERR_CHAIN_BUDGET', () => {
    const names = Array.from({ length: 100 }, (_, i) => dns(`d${i}.example.com`));
    const nc = { permitted: Array.from({ length: 100 }, (_, i) => sub(dns(`p${i}.example`))) };
    assert.equal(checkNameConstraints(subjectWith(names), nc, { left: 1000 })?.code, 'ERR_CHAIN_BUDGET');
  });

  it('refuse malformed constraints and accept well-formed ones', () => {
    assert.match(invalidConstraintReason({ permitted: [sub(dns('*.example.com'))] })!, /dNSName/);
    assert.match(invalidConstraintReason({ permitted: [sub(dns('.example.com'))] })!, /dNSName/);
    assert.match(invalidConstraintReason({ permitted: [sub(ip(10, 0, 0, 0, 255, 0, 255, 0))] })!, /iPAddress/);
    assert.match(invalidConstraintReason({ permitted: [sub(email('a@b@example.com'))] })!, /rfc822Name/);
    assert.equal(invalidConstraintReason({ permitted: [sub(dns('example.com')), sub(email('.example.com'))] }), undefined);
    assert.equal(isValidDNSName('foo_bar.example.com', true), false);
    assert.equal(isValidDNSName('*.example.com', true), true);
    assert.equal(isValidDNSName('*.com', true), false);
  });
});
