/**
 * CA key rollover (RFC 5280 6.3.3 (f), RFC 4210 4.4): a CA with a new key issues a self-issued NewWithOld
 * certificate (its name, the new key, signed by the old key) and signs its CRLs with the new key. Those CRLs cover
 * the certificates issued under the old key, through the NewWithOld certificate validated to the same trust anchor.
 * Before, such a CRL was skipped as "no CRL supplied" (its AKI names another key), so every valid path of a PKI that
 * rolled its key failed when CRLs were required. Also here: which CRLs are evidence at all, and a leaf that is a
 * trust anchor.
 */
import assert from 'node:assert/strict';
import { NodeCryptoProvider } from '../../src/crypto/node-provider.js';
import { PathValidator } from '../../src/validation/path-validator.js';
import { createProviderVerifier, type SignatureVerifier } from '../../src/validation/signature.js';
import { validatePath } from '../../src/validation/validate-path.js';
import { caSpec, fixedKey, freshKey, issueCert, issueCRL } from './fixtures.js';

const provider = new NodeCryptoProvider();
const AT = new Date('2025-01-01T00:00:00Z');
const OLD = fixedKey(0);
const NEW = fixedKey(3);
const OTHER = fixedKey(4);
const ROOT = 'Custody Test Root';
const ISSUING = 'Custody Test Issuing CA';

const root = issueCert(caSpec(ROOT, OLD));
const rootNew = issueCert(caSpec(ROOT, NEW, undefined, { serial: 9 }));
const issuing = issueCert(caSpec(ISSUING, fixedKey(1), { name: ROOT, key: OLD }, { pathLen: 0, serial: 2 }));
const leaf = issueCert({ subject: 'device-0042', key: fixedKey(2), issuer: { name: ISSUING, key: fixedKey(1) }, serial: 42 });
/** NewWithOld: the root's name and new key, signed by the old key. */
const newWithOld = issueCert(caSpec(ROOT, NEW, { name: ROOT, key: OLD }, { serial: 7 }));
/** OldWithNew: the root's name and old key, signed by the new key. */
const oldWithNew = issueCert(caSpec(ROOT, OLD, { name: ROOT, key: NEW }, { serial: 8 }));
const crlIssuing = issueCRL({ issuer: ISSUING, key: fixedKey(1) });
const crlRootNew = issueCRL({ issuer: ROOT, key: NEW });
const crlRootOld = issueCRL({ issuer: ROOT, key: OLD });

const validate = (o: {
  leaf?: Uint8Array;
  intermediates: Uint8Array[];
  crls: Uint8Array[];
  anchors?: Uint8Array[];
  requireCRL?: boolean;
  verifier?: SignatureVerifier;
}) =>
  validatePath({
    leaf: o.leaf ?? leaf,
    intermediates: o.intermediates,
    trustAnchors: o.anchors ?? [root],
    crls: o.crls,
    at: AT,
    ...(o.verifier ? { verifier: o.verifier } : { provider }),
    ...(o.requireCRL === false ? {} : { requireCRL: true }),
  });
const failures = (r: { checks: readonly { ok: boolean }[] }) => JSON.stringify(r.checks.filter((c) => !c.ok));

describe('CA key rollover and CRL evidence', () => {
  it('follows a rollover to the key that signed the CRL: every certificate of the path has its status established', async () => {
    const r = await validate({ intermediates: [issuing, newWithOld], crls: [crlRootNew, crlIssuing] });
    assert.equal(r.ok, true, failures(r));
    assert.deepEqual(
      r.revocation!.map((s) => [s.subject, s.issuer, s.status]),
      [
        ['CN=device-0042', `CN=${ISSUING}`, 'good'],
        [`CN=${ISSUING}`, `CN=${ROOT}`, 'good'],
      ],
    );
  });

  it('leaves the status unknown, never good, without a certificate for the new key (ERR_CHAIN_CRL when CRLs are required)', async () => {
    const required = await validate({ intermediates: [issuing], crls: [crlRootNew, crlIssuing] });
    assert.equal(required.code, 'ERR_CHAIN_CRL', failures(required));
    const open = await validate({ intermediates: [issuing], crls: [crlRootNew, crlIssuing], requireCRL: false });
    assert.equal(open.ok, true, failures(open));
    assert.deepEqual(
      open.revocation!.map((s) => s.status),
      ['good', 'unknown'],
    );
    assert.match(open.revocation![1]!.reason!, /signed by another key/);
  });

  it('rejects a certificate revoked on a CRL signed by the new key (ERR_CHAIN_REVOKED)', async () => {
    const revoking = issueCRL({ issuer: ROOT, key: NEW, revokedSerials: [2] });
    const r = await validate({ intermediates: [issuing, newWithOld], crls: [revoking, crlIssuing] });
    assert.equal(r.code, 'ERR_CHAIN_REVOKED', failures(r));
  });

  it('does not count a CRL whose key is certified, under the CA name, through another trust anchor', async () => {
    const otherRoot = issueCert(caSpec('Other Root', OTHER));
    const lookalike = issueCert(caSpec(ROOT, NEW, { name: 'Other Root', key: OTHER }, { serial: 5 }));
    const r = await validate({ intermediates: [issuing, lookalike], crls: [crlRootNew, crlIssuing], anchors: [root, otherRoot] });
    assert.equal(r.code, 'ERR_CHAIN_CRL', failures(r));
    const revoking = issueCRL({ issuer: ROOT, key: NEW, revokedSerials: [2] });
    const open = await validate({ intermediates: [issuing, lookalike], crls: [revoking, crlIssuing], anchors: [root, otherRoot], requireCRL: false });
    assert.equal(open.ok, true, 'its entries do not count either');
    assert.equal(open.revocation![1]!.status, 'unknown');
  });

  it('does not count a rollover certificate the old key did not sign, or one without cRLSign', async () => {
    const forged = issueCert(caSpec(ROOT, NEW, { name: ROOT, key: OTHER }, { serial: 7 }));
    assert.equal((await validate({ intermediates: [issuing, forged], crls: [crlRootNew, crlIssuing] })).code, 'ERR_CHAIN_CRL');
    const noCRLSign = issueCert(caSpec(ROOT, NEW, { name: ROOT, key: OLD }, { serial: 7, keyUsage: ['keyCertSign'] }));
    assert.equal((await validate({ intermediates: [issuing, noCRLSign], crls: [crlRootNew, crlIssuing] })).code, 'ERR_CHAIN_CRL');
  });

  it('fails a CRL that names the new key but does not verify under it (ERR_CHAIN_CRL)', async () => {
    const tampered = crlRootNew.slice();
    tampered[tampered.length - 1] ^= 0x01;
    const r = await validate({ intermediates: [issuing, newWithOld], crls: [tampered, crlIssuing], requireCRL: false });
    assert.equal(r.code, 'ERR_CHAIN_CRL', failures(r));
  });

  it('accepts the paths a rollover makes: under the new key through NewWithOld, under the old key through OldWithNew', async () => {
    const underNew = issueCert({ subject: 'device-0043', key: fixedKey(2), issuer: { name: ROOT, key: NEW }, serial: 43 });
    const r1 = await validate({ leaf: underNew, intermediates: [newWithOld], crls: [crlRootOld] });
    assert.equal(r1.ok, true, failures(r1));
    assert.deepEqual(
      r1.chain!.map((c) => c.serialHex),
      ['2b', '07', '01'],
    );
    assert.deepEqual(
      r1.revocation!.map((s) => s.status),
      ['good', 'good'],
      'the old key CRL covers what the new key issued: the anchor signed it',
    );
    const underOld = issueCert({ subject: 'device-0044', key: fixedKey(2), issuer: { name: ROOT, key: OLD }, serial: 44 });
    const r2 = await validate({ leaf: underOld, intermediates: [oldWithNew], anchors: [rootNew], crls: [crlRootNew] });
    assert.equal(r2.ok, true, failures(r2));
    assert.deepEqual(
      r2.chain!.map((c) => c.serialHex),
      ['2c', '08', '09'],
    );
  });

  it('bounds the work of many candidate certificates for a CRL key (a hostile bundle)', async () => {
    let verifications = 0;
    const inner = createProviderVerifier(provider);
    const verifier: SignatureVerifier = (input) => {
      verifications++;
      return inner(input);
    };
    const fakes = Array.from({ length: 40 }, (_, i) => issueCert(caSpec(ROOT, NEW, { name: ROOT, key: freshKey() }, { serial: 100 + i })));
    const t0 = performance.now();
    const r = await validate({ intermediates: [issuing, ...fakes], crls: [crlRootNew, crlIssuing], verifier, requireCRL: false });
    assert.equal(r.ok, true, failures(r));
    assert.equal(r.revocation![1]!.status, 'unknown');
    // Two for the path, one for the issuing CA's CRL, one per fake tried (at most 4, each failing at its first issuer).
    assert.ok(verifications <= 7, `${verifications} signature checks`);
    assert.ok(performance.now() - t0 < 1000);
  });

  it('refuses a trust anchor as the leaf, saying so (ERR_CHAIN_LEAF_IS_ANCHOR, was ERR_CHAIN_NO_PATH)', async () => {
    const v = new PathValidator({ trustAnchors: [root], provider });
    const r = await v.validate({ leaf: root, at: AT });
    assert.equal(r.code, 'ERR_CHAIN_LEAF_IS_ANCHOR');
    assert.match(r.checks[0]!.reason!, /is itself a trust anchor/);
    const reissued = issueCert(caSpec(ROOT, OLD, undefined, { serial: 77 }));
    assert.equal((await v.validate({ leaf: reissued, at: AT })).code, 'ERR_CHAIN_LEAF_IS_ANCHOR', 'the same name and key is the same anchor');
    assert.equal((await v.validate({ leaf: oldWithNew, at: AT })).code, 'ERR_CHAIN_LEAF_IS_ANCHOR');
  });

  it('gives the same verdicts through revocationStatus as path validation, from its cache', async () => {
    const v = new PathValidator({ trustAnchors: [root], provider });
    const r = await v.validate({ leaf, intermediates: [issuing, newWithOld], crls: [crlRootNew, crlIssuing], at: AT });
    assert.equal(r.ok, true, failures(r));
    const again = await v.revocationStatus(r.chain!, { crls: [crlRootNew, crlIssuing], at: AT, intermediates: [issuing, newWithOld] });
    assert.deepEqual(
      again.map((s) => s.status),
      ['good', 'good'],
    );
    const without = await v.revocationStatus(r.chain!, { crls: [crlRootNew, crlIssuing], at: AT, intermediates: [issuing] });
    assert.deepEqual(
      without.map((s) => s.status),
      ['good', 'good'],
      'a rollover key once validated stays known',
    );
    const fresh = new PathValidator({ trustAnchors: [root], provider });
    const cold = await fresh.revocationStatus(r.chain!, { crls: [crlRootNew, crlIssuing], at: AT, intermediates: [issuing] });
    assert.deepEqual(
      cold.map((s) => s.status),
      ['good', 'unknown'],
    );
  });
});
