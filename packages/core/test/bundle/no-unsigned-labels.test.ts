/**
 * A bundle has no unsigned part: the lot and model travel in the birth statement's `production` claim, signed by
 * the manufacturer's party. A `labels` member (what a bundle once carried unsigned) is refused, so that no byte
 * of a bundle can be changed without the verification failing.
 */
import assert from 'node:assert/strict';
import { parseClaims, withProduction } from '../../src/attestation/claims.js';
import { createBundle } from '../../src/bundle/create-bundle.js';
import { encodeBundle } from '../../src/bundle/encode-bundle.js';
import { parseBundle } from '../../src/bundle/parse-bundle.js';
import { makeWorld, type World } from '../verification/fixtures.js';

describe('bundles carry no unsigned labels', () => {
  let w: World;
  let plain: string;
  before(async () => {
    w = await makeWorld();
    plain = encodeBundle(createBundle({ certificate: w.device.der, chain: [w.acmeIssuing.der], attestations: w.chain }));
  });

  it('refuses a bundle with a labels member (was: an unsigned lot and model any carrier could rewrite)', () => {
    const text = `${plain.slice(0, -1)},"labels":{"lot":"someone-elses-lot","model":"Other"}}`;
    assert.throws(() => parseBundle(text), { code: 'ERR_BUNDLE_MALFORMED' });
    assert.doesNotThrow(() => parseBundle(plain));
  });

  it('withProduction adds the batch model and lot as a claim, and keeps one the caller gave', () => {
    assert.deepEqual(withProduction(undefined, 'Sensor X1', 'L7'), { production: { model: 'Sensor X1', lot: 'L7' } });
    assert.deepEqual(withProduction({ debugPorts: { state: 'locked' } }, undefined, 'L7'), { debugPorts: { state: 'locked' }, production: { lot: 'L7' } });
    assert.equal(withProduction(undefined, undefined, undefined), undefined);
    const given = { production: { lot: 'from-claims-file' } };
    assert.equal(withProduction(given, 'M', 'L'), given);
  });

  it('the production claim is part of the vocabulary: strings only, no unknown field', () => {
    assert.deepEqual(parseClaims({ production: { model: 'Sensor X1', lot: 'L7' } }), { production: { model: 'Sensor X1', lot: 'L7' } });
    assert.throws(
      () => parseClaims({ production: { lot: 7 } }),
      (e: { code?: string }) => typeof e.code === 'string' && e.code.startsWith('ERR_'),
    );
    assert.throws(
      () => parseClaims({ production: { colour: 'red' } }),
      (e: { code?: string }) => typeof e.code === 'string' && e.code.startsWith('ERR_'),
    );
  });
});
