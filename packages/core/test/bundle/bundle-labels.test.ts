import assert from 'node:assert/strict';
import { BUNDLE_LIMITS, isBundleLabel } from '../../src/bundle/bundle-model.js';
import { createBundle } from '../../src/bundle/create-bundle.js';
import { encodeBundle } from '../../src/bundle/encode-bundle.js';
import { parseBundle } from '../../src/bundle/parse-bundle.js';
import { createVerifier } from '../../src/verification/verifier.js';
import { AT, makeWorld, provider, type World } from '../verification/fixtures.js';

describe('bundle labels (lot, model): unsigned, for selections and displays', () => {
  let w: World;
  let plain: string;
  before(async () => {
    w = await makeWorld();
    plain = encodeBundle(createBundle({ certificate: w.device.der, chain: [w.acmeIssuing.der], attestations: w.chain }));
  });

  const withLabels = (labels: Record<string, unknown>) => `${plain.slice(0, -1)},"labels":${JSON.stringify(labels)}}`;

  it('round-trips the lot and the model, written last', () => {
    const b = createBundle({ certificate: w.device.der, chain: [w.acmeIssuing.der], attestations: w.chain, labels: { lot: 'L2026-11', model: 'Sensor X1' } });
    const text = encodeBundle(b);
    assert.ok(text.endsWith(',"labels":{"lot":"L2026-11","model":"Sensor X1"}}'));
    assert.deepEqual(parseBundle(text).labels, { lot: 'L2026-11', model: 'Sensor X1' });
    assert.equal(encodeBundle(parseBundle(text)), text);
  });

  it('writes no byte of labels when the store recorded none', () => {
    const b = createBundle({ certificate: w.device.der, chain: [w.acmeIssuing.der], attestations: w.chain, labels: {} });
    assert.equal(encodeBundle(b), plain);
    assert.equal(parseBundle(plain).labels, undefined);
  });

  it('is not evidence: the verifier gives the same verdict whatever the labels say', async () => {
    const verifier = createVerifier({ trustAnchors: w.trustAnchors, provider, at: AT });
    const a = await verifier.verify(parseBundle(plain));
    const b = await verifier.verify(parseBundle(withLabels({ lot: 'someone-elses-lot', model: 'Other' })));
    assert.equal(a.ok, true);
    assert.equal(b.ok, a.ok);
    assert.deepEqual(b.checks.map((c) => [c.name, c.ok]), a.checks.map((c) => [c.name, c.ok]));
  });

  for (const [what, labels] of [
    ['an unknown label', { lot: 'L1', colour: 'red' }],
    ['an empty lot', { lot: '' }],
    ['a model that is not a string', { model: 7 }],
    ['a label with a control character', { model: 'Sensor\u001b[2JX1' }],
    ['a label with a C1 control character', { lot: 'L\u009b1' }],
    ['a label longer than the limit', { lot: 'L'.repeat(BUNDLE_LIMITS.maxLabelLength + 1) }],
    ['labels that are not an object', ['L1']],
  ] as const) {
    it(`refuses ${what} with ERR_BUNDLE_MALFORMED naming the field`, () => {
      assert.throws(() => parseBundle(withLabels(labels as Record<string, unknown>)), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_BUNDLE_MALFORMED');
        assert.match(e.message, /labels/);
        return true;
      });
    });
  }

  it('refuses to write a label it could not read back', () => {
    const b = createBundle({ certificate: w.device.der, chain: [w.acmeIssuing.der], attestations: w.chain });
    assert.throws(() => encodeBundle({ ...b, labels: { lot: 'a\nb' } }), { code: 'ERR_BUNDLE_MALFORMED' });
  });

  it('isBundleLabel takes printable text up to the limit only', () => {
    assert.equal(isBundleLabel('Sensor X1 — rev. B'), true);
    assert.equal(isBundleLabel('x'.repeat(BUNDLE_LIMITS.maxLabelLength)), true);
    for (const v of ['', 'x'.repeat(BUNDLE_LIMITS.maxLabelLength + 1), 'tab\there', '\u007f', undefined, 3]) assert.equal(isBundleLabel(v), false);
  });
});
