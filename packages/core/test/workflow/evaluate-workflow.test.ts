import assert from 'node:assert/strict';
import { evaluateWorkflow, type ChainStep } from '../../src/workflow/evaluate-workflow.js';
import type { WorkflowReport } from '../../src/workflow/evaluate-workflow.js';
import { parseWorkflow } from '../../src/workflow/workflow.js';
import { ACME, BIRTH_CLAIMS, CLINIC, INTEGRATION_CLAIMS, NORTHWIND, RESALE, RESALE2, TRUST, chain, goodChain, party, step, workflowFile } from './fixtures.js';

const WORKFLOW = parseWorkflow(workflowFile('supply-chain.yaml'), 'workflows/supply-chain.yaml');

function failures(report: WorkflowReport): Array<[string | undefined, string | undefined]> {
  return report.checks.filter((c) => !c.ok).map((c) => [c.code, c.reason]);
}

function assertRejected(report: WorkflowReport, code: string, fragment: string): void {
  assert.equal(report.ok, false);
  assert.equal(report.code, code, JSON.stringify(failures(report)));
  const hit = report.checks.find((c) => !c.ok && c.code === code && c.reason?.includes(fragment));
  assert.ok(hit, `no ${code} failure mentioning ${fragment}: ${JSON.stringify(failures(report))}`);
}

describe('workflow: evaluateWorkflow', () => {
  it('accepts a chain that has reached the customer but is not yet activated', () => {
    const report = evaluateWorkflow(WORKFLOW, goodChain(), TRUST, { nextCustodian: CLINIC });
    assert.equal(report.ok, true, JSON.stringify(failures(report)));
    assert.deepEqual(report.stages, ['factory', 'integration', 'resale']);
    assert.equal(report.pending, 'activation');
    assert.ok(report.checks.some((c) => c.name === 'stage activation: pending' && c.ok));
  });

  it('accepts a pending chain without resellers, and needs mayEndBefore for any pending chain', () => {
    const short = goodChain().slice(0, 2);
    const report = evaluateWorkflow(WORKFLOW, chain(short[0]!, { ...short[1]!, to: CLINIC.spkiSha256 }), TRUST, { nextCustodian: CLINIC });
    assert.equal(report.ok, true, JSON.stringify(failures(report)));
    assert.equal(report.pending, 'activation');
    const strict = parseWorkflow(workflowFile('supply-chain.yaml').replace('mayEndBefore: activation', ''), 'strict.yaml');
    assertRejected(evaluateWorkflow(strict, goodChain(), TRUST), 'ERR_WORKFLOW_REJECT_ORDER', 'the chain ends after attestation 2 without stage "activation"');
  });

  it('accepts the activated chain, and a chain with no reseller', () => {
    const activated = [...goodChain(), step('activation', CLINIC, {}, { seq: 3, stage: 'activation' })];
    const full = evaluateWorkflow(WORKFLOW, activated, TRUST);
    assert.equal(full.ok, true, JSON.stringify(failures(full)));
    assert.equal(full.pending, undefined);
    const direct = chain(goodChain()[0]!, { ...goodChain()[1]!, to: CLINIC.spkiSha256 }, step('activation', CLINIC));
    const report = evaluateWorkflow(WORKFLOW, direct, TRUST);
    assert.equal(report.ok, true, JSON.stringify(failures(report)));
    assert.deepEqual(report.stages, ['factory', 'integration', 'activation']);
  });

  it('accepts three resellers and tells two handoff stages apart by their signers', () => {
    const c = goodChain();
    const report = evaluateWorkflow(WORKFLOW, chain(...c, step('handoff', RESALE2), step('handoff', RESALE)), TRUST);
    assert.equal(report.ok, true, JSON.stringify(failures(report)));
    assert.deepEqual(report.stages, ['factory', 'integration', 'resale', 'resale', 'resale']);
  });

  it('rejects a signer outside the workflow (ERR_WORKFLOW_REJECT_SIGNER, naming party and stage)', () => {
    const c = goodChain();
    c[2] = { ...c[2]!, signer: party('Grey Market Traders', 'grey-ca', '5') };
    const report = evaluateWorkflow(WORKFLOW, c, TRUST);
    assertRejected(report, 'ERR_WORKFLOW_REJECT_SIGNER', 'attestation 2 is signed by "Grey Market Traders", who may not sign stage "resale"');
  });

  it('rejects a party certificate from another stage CA', () => {
    const c = goodChain();
    c[1] = { ...c[1]!, signer: CLINIC };
    const report = evaluateWorkflow(WORKFLOW, chain(c[0]!, c[1]!), TRUST);
    assertRejected(report, 'ERR_WORKFLOW_REJECT_SIGNER', 'attestation 1 is signed by "St. Example Clinic", who may not sign stage "integration"');
  });

  it('reports a CA name the caller did not supply', () => {
    const report = evaluateWorkflow(WORKFLOW, goodChain(), { cas: { manufacturer: TRUST.cas['manufacturer']!, integrator: TRUST.cas['integrator']! } });
    assertRejected(report, 'ERR_WORKFLOW_REJECT_SIGNER', 'no CA named "reseller" was supplied');
  });

  it('rejects stages out of order (ERR_WORKFLOW_REJECT_ORDER)', () => {
    const [birth, integration, resale] = goodChain();
    const report = evaluateWorkflow(WORKFLOW, chain(birth!, resale!, integration!), TRUST);
    assertRejected(report, 'ERR_WORKFLOW_REJECT_ORDER', 'attestation 1 fits stage "resale", but stage "integration" must come first');
    assert.ok(
      report.checks.some(
        (c) => c.code === 'ERR_WORKFLOW_REJECT_ORDER' && c.reason?.includes('attestation 2 fits stage "integration", which comes before stage "resale"'),
      ),
    );
  });

  it('rejects a chain missing a required stage, and one that does not start with a birth', () => {
    const [birth, , resale] = goodChain();
    assertRejected(evaluateWorkflow(WORKFLOW, chain(birth!, resale!), TRUST), 'ERR_WORKFLOW_REJECT_ORDER', 'stage "integration" must come first');
    assertRejected(
      evaluateWorkflow(WORKFLOW, chain(birth!), TRUST),
      'ERR_WORKFLOW_REJECT_ORDER',
      'the chain ends after attestation 0 without stage "integration"',
    );
    const report = evaluateWorkflow(WORKFLOW, chain(step('handoff', NORTHWIND, INTEGRATION_CLAIMS)), TRUST);
    assertRejected(report, 'ERR_WORKFLOW_REJECT_ORDER', 'attestation 0 fits stage "integration", but stage "factory" must come first');
    assertRejected(evaluateWorkflow(WORKFLOW, [], TRUST), 'ERR_WORKFLOW_REJECT_ORDER', 'no attestation');
  });

  it('rejects a wrong attestation kind for the stage (ERR_WORKFLOW_REJECT_KIND)', () => {
    const [birth] = goodChain();
    const report = evaluateWorkflow(WORKFLOW, chain(birth!, step('activation', NORTHWIND, INTEGRATION_CLAIMS)), TRUST);
    assertRejected(report, 'ERR_WORKFLOW_REJECT_KIND', 'attestation 1 is an activation attestation, but stage "integration" takes handoff attestations');
  });

  it('rejects too many repeats of a stage and too many hops (ERR_WORKFLOW_REJECT_HOPS)', () => {
    const resales = [RESALE, RESALE2, RESALE, RESALE2, RESALE].map((p) => step('handoff', p));
    const report = evaluateWorkflow(WORKFLOW, chain(...goodChain().slice(0, 2), ...resales), TRUST);
    assertRejected(report, 'ERR_WORKFLOW_REJECT_HOPS', 'attestation 5 would be attestation 4 of stage "resale", which allows at most 3');
    assert.ok(report.checks.some((c) => c.code === 'ERR_WORKFLOW_REJECT_HOPS' && c.name === 'hops' && c.reason?.includes('7 attestations')));
  });

  it('rejects anything after activation', () => {
    const c = [...goodChain(), step('activation', CLINIC), step('handoff', RESALE)];
    assertRejected(
      evaluateWorkflow(WORKFLOW, chain(...c), TRUST),
      'ERR_WORKFLOW_REJECT_ORDER',
      'attestation 4 fits stage "resale", which comes before stage "activation"',
    );
    const twice = [...goodChain(), step('activation', CLINIC), step('activation', CLINIC)];
    assertRejected(
      evaluateWorkflow(WORKFLOW, chain(...twice), TRUST),
      'ERR_WORKFLOW_REJECT_HOPS',
      'attestation 4 would be attestation 2 of stage "activation"',
    );
    const stranger = [...goodChain(), step('activation', CLINIC), step('handoff', party('Nobody', 'nowhere', '5'))];
    assertRejected(evaluateWorkflow(WORKFLOW, chain(...stranger), TRUST), 'ERR_WORKFLOW_REJECT_ORDER', 'attestation 4 comes after the last stage "activation"');
  });

  it('rejects a stage without its required claims (ERR_WORKFLOW_REJECT_CLAIMS)', () => {
    const c = goodChain();
    c[1] = { ...c[1]!, claims: { product: INTEGRATION_CLAIMS.product! } };
    const report = evaluateWorkflow(WORKFLOW, c, TRUST);
    assertRejected(report, 'ERR_WORKFLOW_REJECT_CLAIMS', 'stage "integration" requires of attestation 1: firmware is not attested');
    const noIdentity = goodChain();
    noIdentity[0] = { ...noIdentity[0]!, claims: { ...BIRTH_CLAIMS, deviceIdentity: { idevid: false } } };
    assertRejected(evaluateWorkflow(WORKFLOW, noIdentity, TRUST), 'ERR_WORKFLOW_REJECT_CLAIMS', 'deviceIdentity.idevid is false, expected true');
  });

  it('rejects a predicate whose stage name differs from its place (ERR_WORKFLOW_REJECT_STAGE)', () => {
    const c = goodChain();
    c[1] = { ...c[1]!, stage: 'resale' };
    const report = evaluateWorkflow(WORKFLOW, c, TRUST);
    assertRejected(report, 'ERR_WORKFLOW_REJECT_STAGE', 'attestation 1 names stage "resale", but it takes the place of stage "integration"');
  });

  it('checks the recipient of a pending stage (ERR_WORKFLOW_REJECT_CUSTODIAN)', () => {
    const c = goodChain();
    assertRejected(evaluateWorkflow(WORKFLOW, c, TRUST, { nextCustodian: RESALE2 }), 'ERR_WORKFLOW_REJECT_CUSTODIAN', 'not to "Second Resale"');
    const wrongRole: ChainStep[] = [...c.slice(0, 2), { ...c[2]!, to: RESALE2.spkiSha256 }];
    assertRejected(
      evaluateWorkflow(WORKFLOW, wrongRole, TRUST, { nextCustodian: RESALE2 }),
      'ERR_WORKFLOW_REJECT_SIGNER',
      '"Second Resale" may not sign stage "activation"',
    );
    const unnamed = evaluateWorkflow(WORKFLOW, c, TRUST);
    assert.equal(unnamed.ok, true);
    assert.match(unnamed.checks.find((x) => x.name === 'stage activation: pending')!.reason!, /not identified/);
  });

  it('matches signers by subject constraints and by pins', () => {
    const text = workflowFile('supply-chain.yaml')
      .replace('      - ca: integrator', '      - ca: integrator\n        subject: { O: Northwind Integration }')
      .replace('      - ca: reseller', `      - pinned: ["${RESALE.certSha256}", "${RESALE2.spkiSha256}"]`);
    const w = parseWorkflow(text, 'pinned.yaml');
    const ok = evaluateWorkflow(w, chain(...goodChain(), step('handoff', RESALE2)), TRUST);
    assert.equal(ok.ok, true, JSON.stringify(failures(ok)));
    const impostor = party('Northwind Integration Ltd', 'integrator', '6');
    const c = goodChain();
    c[1] = { ...c[1]!, signer: impostor };
    assertRejected(evaluateWorkflow(w, c, TRUST), 'ERR_WORKFLOW_REJECT_SIGNER', 'subject O is "Northwind Integration Ltd", expected "Northwind Integration"');
    const d = goodChain();
    d[2] = { ...d[2]!, signer: party('Acme Resale', 'reseller', '8') };
    assertRejected(evaluateWorkflow(w, d, TRUST), 'ERR_WORKFLOW_REJECT_SIGNER', 'not pinned');
  });

  it('falls back to the issuer DN when the issuer certificate hash is unknown', () => {
    const c = goodChain().map((s) => {
      const { issuerCertSha256: _drop, ...signer } = s.signer;
      return { ...s, signer };
    });
    assert.equal(evaluateWorkflow(WORKFLOW, c, TRUST).ok, true);
    c[0] = { ...c[0]!, signer: { ...c[0]!.signer, issuerDN: 'CN=Someone Else' } };
    assertRejected(evaluateWorkflow(WORKFLOW, c, TRUST), 'ERR_WORKFLOW_REJECT_SIGNER', 'issued by "CN=Someone Else", not by CA "manufacturer"');
  });

  it('rejects a chain past the workflow-wide maxHops', () => {
    const w = parseWorkflow(workflowFile('supply-chain.yaml').replace('maxHops: 6', 'maxHops: 3'), 'short.yaml');
    const report = evaluateWorkflow(w, chain(...goodChain(), step('handoff', RESALE2)), TRUST);
    assertRejected(report, 'ERR_WORKFLOW_REJECT_HOPS', 'the chain holds 4 attestations; workflow "supply-chain" allows at most 3');
    assert.equal(ACME.subject['O'], 'Acme Devices');
  });
});
