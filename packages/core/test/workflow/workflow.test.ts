import assert from 'node:assert/strict';
import { parseWorkflow } from '../../src/workflow/workflow.js';
import { workflowFile } from './fixtures.js';

const BASE = `name: test-flow
version: 1
stages:
  - name: factory
    kind: birth
    role: manufacturer
    signers:
      - ca: manufacturer
  - name: integration
    kind: handoff
    role: integrator
    signers:
      - ca: integrator
        subject: { O: Northwind Integration }
    requiredClaims:
      - product
      - claim: firmware.version
        equals: "7.1.0"
  - name: resale
    kind: handoff
    role: reseller
    signers:
      - pinned: ["${'ab'.repeat(32)}"]
    repeat: { min: 0, max: 3 }
`;

/** BASE with one line replaced by another (so line numbers stay put), or with lines appended. */
function variant(from: string, to: string): string {
  assert.ok(BASE.includes(from), `fixture lacks ${from}`);
  return BASE.replace(from, to);
}

function assertInvalid(text: string, line: number, fragment: string | RegExp): void {
  assert.throws(
    () => parseWorkflow(text, 'flows/test.yaml'),
    (e: any) => {
      assert.equal(e.code, 'ERR_WORKFLOW_INVALID');
      assert.equal(e.category, 'input');
      assert.match(e.message, new RegExp(`^flows/test\\.yaml:${line}: `));
      if (typeof fragment === 'string') assert.ok(e.message.includes(fragment), e.message);
      else assert.match(e.message, fragment);
      return true;
    },
  );
}

describe('workflow: parseWorkflow', () => {
  it('parses the shipped workflow with a second-hand sale: resale and reactivation after the activation', () => {
    const w = parseWorkflow(workflowFile('supply-chain-resale.yaml'), 'workflows/supply-chain-resale.yaml');
    assert.deepEqual(
      w.stages.slice(3).map((s) => [s.name, s.kind, s.repeat.min, s.repeat.max]),
      [
        ['activation', 'activation', 1, 1],
        ['resale-after-activation', 'handoff', 0, 1],
        ['reactivation', 'activation', 0, 1],
      ],
    );
  });

  it('parses the shipped supply-chain workflow', () => {
    const w = parseWorkflow(workflowFile('supply-chain.yaml'), 'workflows/supply-chain.yaml');
    assert.equal(w.name, 'supply-chain');
    assert.deepEqual(
      w.stages.map((s) => [s.name, s.kind, s.role]),
      [
        ['factory', 'birth', 'manufacturer'],
        ['integration', 'handoff', 'integrator'],
        ['resale', 'handoff', 'reseller'],
        ['activation', 'activation', 'customer'],
      ],
    );
    assert.deepEqual(w.stages[2]!.repeat, { min: 0, max: 3 });
    assert.deepEqual(
      w.stages[1]!.requiredClaims.map((r) => r.path.text),
      ['product', 'firmware'],
    );
    assert.deepEqual(w.stages[1]!.signers, [{ ca: 'integrator' }]);
    assert.equal(w.mayEndBefore, 'activation');
    assert.equal(w.maxHops, 6);
  });

  it('parses a workflow with subject constraints, pins, values and repeat bounds', () => {
    const w = parseWorkflow(BASE, 'flows/test.yaml');
    assert.equal(w.version, '1');
    assert.deepEqual(w.stages[1]!.signers, [{ ca: 'integrator', subject: { O: 'Northwind Integration' } }]);
    assert.deepEqual(w.stages[1]!.requiredClaims[1], {
      path: { text: 'firmware.version', vendor: false, claim: 'firmware', field: 'version' },
      equals: '7.1.0',
    });
    assert.deepEqual(w.stages[2]!.signers, [{ pinned: ['ab'.repeat(32)] }]);
    assert.deepEqual(w.stages[0]!.repeat, { min: 1, max: 1 });
    assert.equal(w.mayEndBefore, undefined);
  });

  describe('refuses malformed input with file, line and field', () => {
    it('YAML syntax error', () => assertInvalid(variant('    role: integrator', '    role: integrator: yes'), 11, /nested mappings/i));
    it('duplicate YAML key', () => assertInvalid(variant('    role: integrator\n', '    role: integrator\n    role: reseller\n'), 12, /unique|duplicate/i));
    it('empty document', () => assertInvalid('', 1, '(document): expected a mapping'));
    it('unknown top-level field', () => assertInvalid(`${BASE}colour: blue\n`, 25, 'colour: unknown field'));
    it('unknown stage field', () => assertInvalid(variant('    role: integrator', '    rolle: integrator'), 11, 'stages[1].rolle: unknown field'));
    it('missing required field', () => assertInvalid(variant('    role: reseller\n', ''), 19, 'stages[2]: missing required field "role"'));
    it('wrong type', () => assertInvalid(variant('version: 1', 'version: [1]'), 2, 'version: expected a string'));
    it('unknown kind', () =>
      assertInvalid(
        variant('    kind: handoff\n    role: reseller', '    kind: transfer\n    role: reseller'),
        20,
        'stages[2].kind: "transfer" is not one of birth, handoff, activation',
      ));
    it('unknown role', () => assertInvalid(variant('    role: reseller', '    role: fence'), 21, 'stages[2].role: "fence" is not one of'));
    it('duplicate stage name', () =>
      assertInvalid(variant('  - name: resale', '  - name: integration'), 19, 'stages[2].name: duplicate stage name "integration"'));
    it('unknown stage reference', () => assertInvalid(`${BASE}mayEndBefore: activation\n`, 25, 'mayEndBefore: unknown stage "activation"'));
    it('unknown claim', () => assertInvalid(variant('      - product', '      - producer'), 16, 'stages[1].requiredClaims[0]: unknown claim "producer"'));
    it('unknown claim field', () =>
      assertInvalid(variant('claim: firmware.version', 'claim: firmware.build'), 17, '"firmware.build" is not a field of claim firmware'));
    it('expected value of the wrong type', () =>
      assertInvalid(variant('equals: "7.1.0"', 'equals: 7'), 18, 'stages[1].requiredClaims[1].equals: firmware.version is a string'));
    it('signer with neither ca nor pinned', () =>
      assertInvalid(variant('      - ca: manufacturer', '      - subject: { O: Acme }'), 8, 'stages[0].signers[0]: a signer is either'));
    it('signer with both ca and pinned', () =>
      assertInvalid(variant('      - ca: manufacturer', `      - { ca: manufacturer, pinned: ["${'ab'.repeat(32)}"] }`), 8, 'a signer is either'));
    it('pin that is not a SHA-256', () =>
      assertInvalid(variant(`["${'ab'.repeat(32)}"]`, '["abcd"]'), 23, 'stages[2].signers[0].pinned[0]: "abcd" is not a hex SHA-256'));
    it('unknown subject attribute', () =>
      assertInvalid(
        variant('subject: { O: Northwind Integration }', 'subject: { Org: Northwind Integration }'),
        14,
        'stages[1].signers[0].subject.Org: unknown field',
      ));
    it('repeat max below min', () => assertInvalid(variant('{ min: 0, max: 3 }', '{ min: 4, max: 3 }'), 24, 'stages[2].repeat.max: must be at least min (4)'));
    it('negative repeat', () => assertInvalid(variant('{ min: 0, max: 3 }', '{ min: -1, max: 3 }'), 24, 'stages[2].repeat.min: must be at least 0'));
    it('first stage not a birth', () =>
      assertInvalid(variant('    kind: birth', '    kind: handoff'), 5, 'stages[0].kind: the first stage must be the birth stage'));
    it('activation before the last stage', () =>
      assertInvalid(
        variant('    kind: handoff\n    role: integrator', '    kind: activation\n    role: integrator'),
        10,
        'an activation stage must be the last stage',
      ));
    it('a resale stage after activation that is required', () =>
      assertInvalid(
        `${BASE}  - name: act\n    kind: activation\n    role: customer\n    signers:\n      - ca: customer\n  - name: resold\n    kind: handoff\n    role: customer\n    signers:\n      - ca: customer\n  - name: again\n    kind: activation\n    role: customer\n    signers:\n      - ca: customer\n    repeat: { min: 0, max: 1 }\n`,
        26,
        'an activation stage must be the last stage, or be followed only by resales',
      ));
    it('maxHops below what the stages need', () => assertInvalid(`${BASE}maxHops: 1\n`, 25, 'maxHops: is 1, but the stages need at least 2'));
    it('bad stage name', () => assertInvalid(variant('  - name: resale', '  - name: Re Sale'), 19, 'stages[2].name: "Re Sale" is not a lower-case name'));
    it('no stages', () => assertInvalid('name: x\nversion: 1\nstages: []\n', 3, 'stages: needs at least 1 item(s)'));
  });
});
