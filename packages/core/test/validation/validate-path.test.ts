import assert from 'node:assert/strict';
import { NodeCryptoProvider } from '../../src/crypto/node-provider.js';
import { OID } from '../../src/asn1/oids.js';
import { validatePath, verifyPath } from '../../src/validation/validate-path.js';
import { PathValidator } from '../../src/validation/path-validator.js';
import type { SignatureVerifier } from '../../src/validation/signature.js';
import { berSignature, caSpec, deviceChain, ext, fixedKey, freshKey, issueCert, issueCRL, type FixtureKey } from './fixtures.js';

const provider = new NodeCryptoProvider();
const AT = new Date('2025-01-01T00:00:00Z');
const ROOT = { name: 'Custody Test Root', key: fixedKey(0) };
const ISSUING = { name: 'Custody Test Issuing CA', key: fixedKey(1) };

describe('validatePath', () => {
  it('accepts a device chain whose leaf never expires (GeneralizedTime 99991231235959Z)', async () => {
    const { root, issuing, leaf } = deviceChain();
    const r = await validatePath({ leaf, intermediates: [issuing], trustAnchors: [root], at: AT, provider, requiredKeyUsage: ['digitalSignature'] });
    assert.equal(r.ok, true, JSON.stringify(r.checks.filter((c) => !c.ok)));
    assert.equal(r.code, undefined);
    assert.deepEqual(
      r.chain!.map((c) => c.subject.text),
      ['CN=device-0042', 'CN=Custody Test Issuing CA', 'CN=Custody Test Root'],
    );
    assert.equal(r.chain![0]!.notAfter.toISOString(), '9999-12-31T23:59:59.000Z');
    assert.ok(r.checks.every((c) => c.ok));
    assert.ok(r.checks.some((c) => c.name === 'signature'));
    const far = await validatePath({ leaf, intermediates: [issuing], trustAnchors: [root], at: new Date('2033-12-31T23:59:59Z'), provider });
    assert.equal(far.ok, true);
  });

  it('refuses a path longer than a pathLenConstraint with ERR_CHAIN_PATHLEN', async () => {
    const root = issueCert(caSpec(ROOT.name, ROOT.key));
    const ca1 = issueCert(caSpec('CA one', fixedKey(1), ROOT, { pathLen: 0 }));
    const ca2 = issueCert(caSpec('CA two', fixedKey(3), { name: 'CA one', key: fixedKey(1) }));
    const leaf = issueCert({ subject: 'device', key: fixedKey(2), issuer: { name: 'CA two', key: fixedKey(3) } });
    const r = await validatePath({ leaf, intermediates: [ca1, ca2], trustAnchors: [root], at: AT, provider });
    assert.equal(r.ok, false);
    assert.equal(r.code, 'ERR_CHAIN_PATHLEN');
  });

  it('does not count a self-issued intermediate against pathLenConstraint (RFC 5280 6.1.4 (l))', async () => {
    const root = issueCert(caSpec(ROOT.name, ROOT.key));
    const ca = issueCert(caSpec('CA one', fixedKey(1), ROOT, { pathLen: 0 }));
    const rollover = issueCert(caSpec('CA one', fixedKey(3), { name: 'CA one', key: fixedKey(1) }, { serial: 7 }));
    const leaf = issueCert({ subject: 'device', key: fixedKey(2), issuer: { name: 'CA one', key: fixedKey(3) } });
    const r = await validatePath({ leaf, intermediates: [ca, rollover], trustAnchors: [root], at: AT, provider });
    assert.equal(r.ok, true, JSON.stringify(r.checks.filter((c) => !c.ok)));
  });

  it('refuses an unknown critical extension with ERR_CHAIN_CRITICAL_EXTENSION', async () => {
    const { root, issuing, leaf } = deviceChain({ extraExtensions: [ext('1.3.6.1.4.1.58270.99', true, Uint8Array.of(0x05, 0x00))] });
    const r = await validatePath({ leaf, intermediates: [issuing], trustAnchors: [root], at: AT, provider });
    assert.equal(r.code, 'ERR_CHAIN_CRITICAL_EXTENSION');
    const ok = deviceChain({ extraExtensions: [ext('1.3.6.1.4.1.58270.99', false, Uint8Array.of(0x05, 0x00))] });
    assert.equal((await validatePath({ leaf: ok.leaf, intermediates: [ok.issuing], trustAnchors: [ok.root], at: AT, provider })).ok, true);
  });

  it('refuses an expired leaf with ERR_CHAIN_EXPIRED and a future one with ERR_CHAIN_NOT_YET_VALID', async () => {
    const expired = deviceChain({ notAfter: new Date('2024-12-31T23:59:59Z') });
    const r1 = await validatePath({ leaf: expired.leaf, intermediates: [expired.issuing], trustAnchors: [expired.root], at: AT, provider });
    assert.equal(r1.code, 'ERR_CHAIN_EXPIRED');
    const edge = await validatePath({
      leaf: expired.leaf,
      intermediates: [expired.issuing],
      trustAnchors: [expired.root],
      at: new Date('2024-12-31T23:59:59.999Z'),
      provider,
    });
    assert.equal(edge.ok, true, 'validity is compared at whole seconds');
    const future = deviceChain({ notBefore: new Date('2025-01-01T00:00:01Z') });
    const r2 = await validatePath({ leaf: future.leaf, intermediates: [future.issuing], trustAnchors: [future.root], at: AT, provider });
    assert.equal(r2.code, 'ERR_CHAIN_NOT_YET_VALID');
  });

  it('refuses a leaf signed by another key than its named issuer with ERR_CHAIN_SIGNATURE', async () => {
    const { root, issuing } = deviceChain();
    const forged = issueCert({ subject: 'device-0042', key: fixedKey(2), issuer: { name: ISSUING.name, key: fixedKey(4) } });
    const r = await validatePath({ leaf: forged, intermediates: [issuing], trustAnchors: [root], at: AT, provider });
    assert.equal(r.code, 'ERR_CHAIN_SIGNATURE');
  });

  it('refuses a BER (non-DER) ECDSA signature with ERR_CHAIN_SIGNATURE', async () => {
    const { root, issuing, leaf } = deviceChain({ tweakSignature: berSignature });
    const r = await validatePath({ leaf, intermediates: [issuing], trustAnchors: [root], at: AT, provider });
    assert.equal(r.code, 'ERR_CHAIN_SIGNATURE');
    assert.match(r.checks.find((c) => !c.ok)!.reason!, /ECDSA signature/);
  });

  it('refuses a leaf revoked by its issuer CRL with ERR_CHAIN_REVOKED', async () => {
    const { root, issuing, leaf } = deviceChain();
    const crl = issueCRL({ issuer: ISSUING.name, key: ISSUING.key, revokedSerials: [41, 42] });
    const r = await validatePath({ leaf, intermediates: [issuing], trustAnchors: [root], at: AT, provider, crls: [crl] });
    assert.equal(r.code, 'ERR_CHAIN_REVOKED');
    const clean = issueCRL({ issuer: ISSUING.name, key: ISSUING.key, revokedSerials: [41] });
    const r2 = await validatePath({ leaf, intermediates: [issuing], trustAnchors: [root], at: AT, provider, crls: [clean] });
    assert.equal(r2.ok, true);
    assert.ok(r2.checks.some((c) => c.name === 'revocation' && c.ok));
  });

  it('refuses a revoked intermediate (root CRL) with ERR_CHAIN_REVOKED', async () => {
    const { root, issuing, leaf } = deviceChain();
    const crl = issueCRL({ issuer: ROOT.name, key: ROOT.key, revokedSerials: [2] });
    const r = await validatePath({ leaf, intermediates: [issuing], trustAnchors: [root], at: AT, provider, crls: [crl] });
    assert.equal(r.code, 'ERR_CHAIN_REVOKED');
  });

  it('fails closed on a stale CRL, a CRL signed by another key, and a missing CRL when required (ERR_CHAIN_CRL)', async () => {
    const { root, issuing, leaf } = deviceChain();
    const stale = issueCRL({ issuer: ISSUING.name, key: ISSUING.key, nextUpdate: new Date('2024-12-01T00:00:00Z') });
    assert.equal((await validatePath({ leaf, intermediates: [issuing], trustAnchors: [root], at: AT, provider, crls: [stale] })).code, 'ERR_CHAIN_CRL');
    const forged = issueCRL({ issuer: ISSUING.name, key: fixedKey(4) });
    const withForged = await validatePath({ leaf, intermediates: [issuing], trustAnchors: [root], at: AT, provider, crls: [forged] });
    assert.equal(withForged.ok, true, "a CRL whose AKI names another key is not this issuer's CRL");
    const missing = await validatePath({ leaf, intermediates: [issuing], trustAnchors: [root], at: AT, provider, requireCRL: true });
    assert.equal(missing.code, 'ERR_CHAIN_CRL');
  });

  it('refuses an issuer that is not a CA with ERR_CHAIN_NOT_CA', async () => {
    const root = issueCert(caSpec(ROOT.name, ROOT.key));
    const notCA = issueCert({ subject: 'Not a CA', key: fixedKey(1), issuer: ROOT, keyUsage: ['digitalSignature'] });
    const leaf = issueCert({ subject: 'device', key: fixedKey(2), issuer: { name: 'Not a CA', key: fixedKey(1) } });
    const r = await validatePath({ leaf, intermediates: [notCA], trustAnchors: [root], at: AT, provider });
    assert.equal(r.code, 'ERR_CHAIN_NOT_CA');
  });

  it('checks required keyUsage and extKeyUsage (anyExtendedKeyUsage accepted)', async () => {
    const ka = deviceChain({ keyUsage: ['keyAgreement'] });
    const r1 = await validatePath({
      leaf: ka.leaf,
      intermediates: [ka.issuing],
      trustAnchors: [ka.root],
      at: AT,
      provider,
      requiredKeyUsage: ['digitalSignature'],
    });
    assert.equal(r1.code, 'ERR_CHAIN_KEY_USAGE');
    const server = deviceChain({ eku: [OID.serverAuth] });
    const r2 = await validatePath({
      leaf: server.leaf,
      intermediates: [server.issuing],
      trustAnchors: [server.root],
      at: AT,
      provider,
      requiredEKU: [OID.clientAuth],
    });
    assert.equal(r2.code, 'ERR_CHAIN_EKU');
    const any = deviceChain({ eku: [OID.anyExtendedKeyUsage] });
    const r3 = await validatePath({ leaf: any.leaf, intermediates: [any.issuing], trustAnchors: [any.root], at: AT, provider, requiredEKU: [OID.clientAuth] });
    assert.equal(r3.ok, true);
  });

  it('enforces dNSName name constraints with ERR_CHAIN_NAME_CONSTRAINTS', async () => {
    const root = issueCert(caSpec(ROOT.name, ROOT.key, undefined, { permittedDNS: ['devices.example'], excludedDNS: ['bad.devices.example'] }));
    const ca = issueCert(caSpec('CA one', fixedKey(1), ROOT));
    const mk = (dns: string) => issueCert({ subject: 'device', key: fixedKey(2), issuer: { name: 'CA one', key: fixedKey(1) }, dnsNames: [dns] });
    const run = (leaf: Uint8Array) => validatePath({ leaf, intermediates: [ca], trustAnchors: [root], at: AT, provider });
    assert.equal((await run(mk('a.devices.example'))).ok, true);
    assert.equal((await run(mk('evil.example'))).code, 'ERR_CHAIN_NAME_CONSTRAINTS');
    assert.equal((await run(mk('x.bad.devices.example'))).code, 'ERR_CHAIN_NAME_CONSTRAINTS');
  });

  it('bounds the number of intermediates with ERR_CHAIN_DEPTH', async () => {
    const root = issueCert(caSpec(ROOT.name, ROOT.key));
    const keys = [fixedKey(1), fixedKey(3), fixedKey(4)];
    const inters = [
      issueCert(caSpec('CA 1', keys[0]!, ROOT)),
      issueCert(caSpec('CA 2', keys[1]!, { name: 'CA 1', key: keys[0]! })),
      issueCert(caSpec('CA 3', keys[2]!, { name: 'CA 2', key: keys[1]! })),
    ];
    const leaf = issueCert({ subject: 'device', key: fixedKey(2), issuer: { name: 'CA 3', key: keys[2]! } });
    assert.equal((await validatePath({ leaf, intermediates: inters, trustAnchors: [root], at: AT, provider, maxDepth: 3 })).ok, true);
    assert.equal((await validatePath({ leaf, intermediates: inters, trustAnchors: [root], at: AT, provider, maxDepth: 2 })).code, 'ERR_CHAIN_DEPTH');
  });

  it('backtracks past a failing candidate issuer to a valid one', async () => {
    const root = issueCert(caSpec(ROOT.name, ROOT.key));
    const expired = issueCert(caSpec(ISSUING.name, ISSUING.key, ROOT, { notAfter: new Date('2024-06-01T00:00:00Z'), serial: 3 }));
    const current = issueCert(caSpec(ISSUING.name, ISSUING.key, ROOT, { serial: 4 }));
    const leaf = issueCert({ subject: 'device', key: fixedKey(2), issuer: ISSUING });
    const r = await validatePath({ leaf, intermediates: [expired, current], trustAnchors: [root], at: AT, provider });
    assert.equal(r.ok, true);
    assert.equal(r.chain![1]!.serialHex, '04');
  });

  it('ends a hostile cross-signed mesh quickly with ERR_CHAIN_BUDGET', async function () {
    this.timeout(20_000);
    const n = 16;
    const keys: FixtureKey[] = Array.from({ length: n }, () => freshKey());
    const mesh: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (i !== j) mesh.push(issueCert(caSpec('Mesh CA', keys[i]!, { name: 'Mesh CA', key: keys[j]! }, { serial: i * n + j + 1 })));
      }
    }
    const root = issueCert(caSpec(ROOT.name, ROOT.key));
    const leaf = issueCert({ subject: 'device', key: fixedKey(2), issuer: { name: 'Mesh CA', key: keys[0]! } });
    let calls = 0;
    const base = (await import('../../src/validation/signature.js')).createProviderVerifier(provider);
    const counting: SignatureVerifier = (input) => {
      calls++;
      return base(input);
    };
    const t0 = Date.now();
    const r = await validatePath({ leaf, intermediates: mesh, trustAnchors: [root], at: AT, verifier: counting, budget: 200 });
    assert.equal(r.ok, false);
    assert.equal(r.code, 'ERR_CHAIN_BUDGET');
    assert.ok(calls <= 200, `${calls} signature checks`);
    assert.ok(Date.now() - t0 < 5000);
  });

  it('reports ERR_CHAIN_NO_PATH without an anchor and ERR_CHAIN_MALFORMED for a leaf that does not parse', async () => {
    const { issuing, leaf } = deviceChain();
    const other = issueCert(caSpec('Someone Else', fixedKey(4)));
    assert.equal((await validatePath({ leaf, intermediates: [issuing], trustAnchors: [other], at: AT, provider })).code, 'ERR_CHAIN_NO_PATH');
    assert.equal((await validatePath({ leaf: leaf.subarray(0, 40), trustAnchors: [other], at: AT, provider })).code, 'ERR_CHAIN_MALFORMED');
  });

  it('verifyPath throws a CustodyError carrying the code and the report', async () => {
    const expired = deviceChain({ notAfter: new Date('2024-12-31T23:59:59Z') });
    await assert.rejects(verifyPath({ leaf: expired.leaf, intermediates: [expired.issuing], trustAnchors: [expired.root], at: AT, provider }), (e: unknown) => {
      const err = e as { code: string; message: string; cause: { ok: boolean } };
      assert.equal(err.code, 'ERR_CHAIN_EXPIRED');
      assert.match(err.message, /device-0042/);
      assert.equal(err.cause.ok, false);
      return true;
    });
  });

  it('refuses a caller without provider or verifier, and an invalid date, with TypeError', async () => {
    const { root, leaf } = deviceChain();
    await assert.rejects(validatePath({ leaf, trustAnchors: [root], at: AT }), TypeError);
    await assert.rejects(validatePath({ leaf, trustAnchors: [root], at: new Date('x'), provider }), TypeError);
  });
});

describe('PathValidator', () => {
  it('checks the shared CA signature once across many leaves', async () => {
    const { root, issuing } = deviceChain();
    let calls = 0;
    const base = (await import('../../src/validation/signature.js')).createProviderVerifier(provider);
    const v = new PathValidator({ trustAnchors: [root], verifier: (i) => (calls++, base(i)) });
    for (let s = 1; s <= 5; s++) {
      const leaf = issueCert({ subject: `device-${s}`, key: fixedKey(2), issuer: ISSUING, serial: 100 + s });
      const r = await v.validate({ leaf, intermediates: [issuing], at: AT });
      assert.equal(r.ok, true);
    }
    assert.equal(calls, 6, 'one check for the issuing CA, one per leaf');
  });

  it("answers by the signature each time the issuer's key is the one used last (the key memo holds the key only)", async () => {
    const { root, issuing } = deviceChain();
    const v = new PathValidator({ trustAnchors: [root], provider });
    const good = (s: number) => issueCert({ subject: `device-${s}`, key: fixedKey(2), issuer: ISSUING, serial: 200 + s });
    // Same issuer name and key identifier, signed by another key: the memo of the issuing CA's key must not pass it.
    const forged = issueCert({ subject: 'device-9', key: fixedKey(2), issuer: { name: ISSUING.name, key: fixedKey(4) }, serial: 299 });
    for (const [leaf, ok] of [
      [good(1), true],
      [forged, false],
      [good(2), true],
      [forged, false],
    ] as const) {
      const r = await v.validate({ leaf, intermediates: [issuing], at: AT });
      assert.equal(r.ok, ok);
      if (!ok) assert.equal(r.code, 'ERR_CHAIN_SIGNATURE');
    }
    // The verifier itself: a key's bytes after another's, and a signature under the wrong key.
    const base = (await import('../../src/validation/signature.js')).createProviderVerifier(provider);
    const { parseCertificate } = await import('../../src/validation/certificate.js');
    const [ca, leafA, leafF] = [parseCertificate(issuing), parseCertificate(good(3)), parseCertificate(forged)];
    const input = (c: typeof leafA, spki: Uint8Array) => ({ spki, algorithm: c.signatureAlgorithm, data: c.tbs, signature: c.signature });
    assert.equal(await base(input(leafA, ca.spki)), true);
    assert.equal(await base(input(leafF, ca.spki)), false);
    assert.equal(await base(input(leafA, leafA.spki)), false, 'another key than the one used last');
    assert.equal(await base(input(leafA, ca.spki)), true);
  });
});
