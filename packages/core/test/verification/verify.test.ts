import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAttestation } from '../../src/attestation/cms.js';
import type { Bundle } from '../../src/bundle/bundle-model.js';
import { createBundle } from '../../src/bundle/create-bundle.js';
import { encodeBundle } from '../../src/bundle/encode-bundle.js';
import { parseBundle } from '../../src/bundle/parse-bundle.js';
import { createVerifier, type VerifierOptions } from '../../src/verification/verifier.js';
import { parseWorkflow } from '../../src/workflow/workflow.js';
import {
  AT,
  BIRTH_CLAIMS,
  INTEGRATION_CLAIMS,
  RESALE_CLAIMS,
  T_ACTIVATION,
  T_BIRTH,
  T_HANDOFF2,
  makeCRL,
  makeDevice,
  makeIssuingCA,
  makeParty,
  makeRoot,
  makeWorld,
  provider,
  sha256hex,
  signChain,
  standardSteps,
  type Holder,
  type World,
} from './fixtures.js';

const bundleText = (device: Holder, chain: readonly Uint8Array[], attestations: readonly Uint8Array[], crls?: Uint8Array[]): string =>
  encodeBundle(createBundle({ certificate: device.der, chain, attestations, ...(crls ? { crls } : {}) }));

describe('verifyBundle', () => {
  let w: World;
  let text: string;
  let verifier: ReturnType<typeof createVerifier>;
  const make = (more: Partial<VerifierOptions> = {}) => createVerifier({ trustAnchors: w.trustAnchors, provider, at: AT, ...more });
  const expectReject = async (t: string | Bundle, code: string | RegExp, v = verifier, opts = {}) => {
    const r = await v.verify(t, opts);
    assert.equal(r.ok, false, 'must be rejected');
    if (typeof code === 'string') assert.equal(r.code, code, JSON.stringify(r.checks.filter((c) => !c.ok)));
    else assert.match(r.code!, code);
    return r;
  };

  before(async () => {
    w = await makeWorld();
    text = bundleText(w.device, [w.acmeIssuing.der], w.chain);
    verifier = make();
  });

  it('accepts a valid chain of three attestations and reports device, custodian and effective claims', async () => {
    const r = await verifier.verify(text);
    assert.equal(r.ok, true, JSON.stringify(r.checks.filter((c) => !c.ok)));
    assert.equal(r.code, undefined);
    assert.equal(r.device, 'Acme Devices/SN000042');
    assert.equal(r.custodian, w.customer.spkiSha256);
    assert.deepEqual(r.effectiveClaims, { ...BIRTH_CLAIMS, ...INTEGRATION_CLAIMS, ...RESALE_CLAIMS });
    assert.ok(r.checks.every((c) => c.ok));
    for (const name of [
      'bundle',
      'device: certificate path',
      'device: profile',
      'attestation 2: signature',
      'attestation 2: signer',
      'attestation 2: custodian',
      'attestation 2: link',
    ]) {
      assert.ok(
        r.checks.some((c) => c.name === name),
        name,
      );
    }
    assert.equal((await verifier.verify(parseBundle(text))).ok, true, 'a parsed bundle too');
  });

  it('needs a verification time (core reads no clock)', async () => {
    const v = createVerifier({ trustAnchors: w.trustAnchors, provider });
    await assert.rejects(v.verify(text), TypeError);
    assert.equal((await v.verify(text, { at: AT })).ok, true);
  });

  describe('tamper suite', () => {
    it('rejects a single-byte change at 60 positions spread over the bundle, never crashing', async () => {
      const codes = new Map<string, number>();
      const positions = 60;
      for (let k = 0; k < positions; k++) {
        const pos = Math.floor(((k + 0.5) * text.length) / positions);
        const c = text[pos]!;
        const swap = c === 'A' ? 'B' : c === '0' ? '1' : c === 'a' ? 'b' : 'A';
        const t = text.slice(0, pos) + swap + text.slice(pos + 1);
        const r = await verifier.verify(t);
        assert.equal(r.ok, false, `change at ${pos} ("${c}" -> "${swap}") was accepted`);
        assert.match(r.code!, /^ERR_/);
        codes.set(r.code!, (codes.get(r.code!) ?? 0) + 1);
      }
      console.log(`      codes: ${[...codes].map(([c, n]) => `${c} x${n}`).join(', ')}`);
    });

    it('rejects a change to any one character of each statement field value', async () => {
      const b = parseBundle(text);
      const fields = ['seq', 'prev', 'from', 'to', 'time', 'stage'] as const;
      for (let i = 0; i < 3; i++) {
        for (const f of fields) {
          const j = JSON.parse(text);
          const p = j.attestations[i].statement.predicate;
          if (f === 'seq') p.seq = i + 1;
          // A changed character, whatever the hash starts with (a prev beginning with 'a' once made this a no-op).
          else if (f === 'prev') p.prev = i === 0 ? 'a'.repeat(64) : (p.prev[0] === 'a' ? 'b' : 'a') + p.prev.slice(1);
          else if (f === 'time') p.time = p.time.replace(/:(\d)(\d)Z$/, (_: string, a: string, d: string) => `:${a}${(Number(d) + 1) % 10}Z`);
          else if (f === 'stage') p.stage = p.stage + 'x';
          else p[f] = (p[f][0] === 'a' ? 'b' : 'a') + p[f].slice(1);
          const r = await verifier.verify(JSON.stringify(j));
          assert.equal(r.ok, false, `attestation ${i} ${f}`);
        }
        const j = JSON.parse(text);
        j.attestations[i].statement.subject[0].name = 'Acme Devices/SN000043';
        await expectReject(JSON.stringify(j), /ERR_/);
      }
      void b;
    });

    for (const i of [0, 1]) {
      it(`rejects the chain with attestation ${i} dropped (ERR_VERIFY_SEQUENCE)`, async () => {
        await expectReject(
          bundleText(
            w.device,
            [w.acmeIssuing.der],
            w.chain.filter((_, k) => k !== i),
          ),
          'ERR_VERIFY_SEQUENCE',
        );
      });
    }

    it('rejects the chain with the last attestation dropped when the customer names itself as custodian (ERR_VERIFY_CUSTODIAN)', async () => {
      const t = bundleText(w.device, [w.acmeIssuing.der], w.chain.slice(0, 2));
      const r = await verifier.verify(t);
      assert.equal(r.ok, true, 'a shorter chain is a valid chain by itself');
      assert.equal(r.custodian, w.reseller.spkiSha256);
      await expectReject(t, 'ERR_VERIFY_CUSTODIAN', verifier, { expectedCustodian: w.customer.spkiSha256 });
    });

    for (const i of [0, 1, 2]) {
      it(`rejects attestation ${i} duplicated (ERR_VERIFY_SEQUENCE)`, async () => {
        const dup = [...w.chain.slice(0, i + 1), w.chain[i]!, ...w.chain.slice(i + 1)];
        await expectReject(bundleText(w.device, [w.acmeIssuing.der], dup), 'ERR_VERIFY_SEQUENCE');
      });
    }

    for (const [a, b] of [
      [0, 1],
      [1, 2],
      [0, 2],
    ] as const) {
      it(`rejects attestations ${a} and ${b} swapped (ERR_VERIFY_SEQUENCE)`, async () => {
        const moved = [...w.chain];
        [moved[a], moved[b]] = [moved[b]!, moved[a]!];
        await expectReject(bundleText(w.device, [w.acmeIssuing.der], moved), 'ERR_VERIFY_SEQUENCE');
      });
    }

    it('rejects an attestation spliced in from another device (ERR_VERIFY_SUBJECT)', async () => {
      const other = await makeDevice(w.acmeIssuing, 'SN000043');
      const otherChain = await signChain(other, standardSteps(w));
      await expectReject(bundleText(w.device, [w.acmeIssuing.der], [w.chain[0]!, otherChain[1]!, w.chain[2]!]), 'ERR_VERIFY_SUBJECT');
    });

    it('rejects an attestation re-signed by a party under an untrusted root (ERR_VERIFY_SIGNER)', async () => {
      const evilRoot = await makeRoot('Northwind Integration', 'Northwind Root CA');
      const evil = await makeParty(evilRoot, 'Northwind Integration', 'Northwind Attestation Signer');
      const steps = standardSteps(w);
      steps[1] = { ...steps[1]!, signer: evil };
      steps[0] = { ...steps[0]!, to: evil };
      const forged = await signChain(w.device, steps);
      await expectReject(bundleText(w.device, [w.acmeIssuing.der], [w.chain[0]!, ...forged.slice(1)]), 'ERR_VERIFY_SIGNER');
      const r = await expectReject(bundleText(w.device, [w.acmeIssuing.der], forged), 'ERR_VERIFY_SIGNER');
      assert.ok(r.checks.some((c) => c.name === 'attestation 1: signer' && !c.ok && /ERR_CHAIN_/.test(c.reason!)));
    });

    it('rejects a device certificate forged under another CA with the same names (ERR_CHAIN_*)', async () => {
      const evilRoot = await makeRoot('Acme Devices', 'Acme Root CA');
      const evilIssuing = await makeIssuingCA(evilRoot, 'Acme Devices', 'Acme Issuing CA 1');
      const forged = await makeDevice(evilIssuing, 'SN000042');
      const chain = await signChain(forged, standardSteps(w));
      await expectReject(bundleText(forged, [evilIssuing.der], chain), /^ERR_CHAIN_(SIGNATURE|NO_PATH)$/);
      await expectReject(bundleText(forged, [evilIssuing.der, w.acmeIssuing.der], chain), /^ERR_CHAIN_(SIGNATURE|NO_PATH)$/);
    });

    it('rejects a CA chain that violates pathLen (ERR_CHAIN_PATHLEN)', async () => {
      const sub = await makeIssuingCA(w.acmeIssuing, 'Acme Devices', 'Acme Line CA');
      const dev = await makeDevice(sub, 'SN000099');
      await expectReject(bundleText(dev, [sub.der, w.acmeIssuing.der], await signChain(dev, standardSteps(w))), 'ERR_CHAIN_PATHLEN');
    });

    it('rejects an attestation signed with a party certificate expired at signing time (ERR_CHAIN_EXPIRED)', async () => {
      const old = await makeParty(w.acmeIssuing, 'Acme Devices', 'Acme Factory Line 1', new Date('2022-06-01T00:00:00Z'));
      const steps = standardSteps(w);
      steps[0] = { ...steps[0]!, signer: old };
      await expectReject(bundleText(w.device, [w.acmeIssuing.der], await signChain(w.device, steps)), 'ERR_CHAIN_EXPIRED');
    });

    it('rejects a revoked device, with the CRL given to the verifier or carried in the bundle (ERR_CHAIN_REVOKED)', async () => {
      const crl = await makeCRL(w.acmeIssuing, [w.device.info.serialHex], new Date('2027-01-01T00:00:00Z'), new Date('2027-02-01T00:00:00Z'));
      await expectReject(text, 'ERR_CHAIN_REVOKED', make({ crls: [crl] }));
      await expectReject(bundleText(w.device, [w.acmeIssuing.der], w.chain, [crl]), 'ERR_CHAIN_REVOKED');
      const clean = await makeCRL(w.acmeIssuing, ['0badc0de'], new Date('2027-01-01T00:00:00Z'), new Date('2027-02-01T00:00:00Z'));
      assert.equal((await make({ crls: [clean] }).verify(text)).ok, true);
    });

    it('rejects an attestation by a revoked party (ERR_CHAIN_REVOKED)', async () => {
      const crl = await makeCRL(w.northwindRoot, [w.integrator.info.serialHex], new Date('2027-01-01T00:00:00Z'), new Date('2027-02-01T00:00:00Z'));
      const r = await expectReject(text, 'ERR_CHAIN_REVOKED', make({ crls: [crl] }));
      assert.ok(r.checks.some((c) => c.name === 'attestation 1: signer revocation' && !c.ok));
    });

    it('rejects a handoff signed by a trusted party that is not the custodian (ERR_VERIFY_CUSTODIAN)', async () => {
      const steps = standardSteps(w);
      steps[2] = { ...steps[2]!, signer: w.factory };
      await expectReject(bundleText(w.device, [w.acmeIssuing.der], await signChain(w.device, steps)), 'ERR_VERIFY_CUSTODIAN');
    });

    it("accepts the activating owner's handoff after an activation (a resale), and nobody else's (ERR_VERIFY_CUSTODIAN)", async () => {
      const activation = { signer: w.customer, to: w.customer, kind: 'activation' as const, time: T_ACTIVATION, stage: 'activation' };
      const resale = { signer: w.customer, to: w.reseller, kind: 'handoff' as const, time: new Date('2026-12-24T00:00:00Z') };
      const chain = await signChain(w.device, [...standardSteps(w), activation, resale]);
      assert.equal((await verifier.verify(bundleText(w.device, [w.acmeIssuing.der], chain.slice(0, 4)))).ok, true);
      assert.equal((await verifier.verify(bundleText(w.device, [w.acmeIssuing.der], chain))).ok, true);
      const stolen = await signChain(w.device, [...standardSteps(w), activation, { ...resale, signer: w.reseller }]);
      await expectReject(bundleText(w.device, [w.acmeIssuing.der], stolen), 'ERR_VERIFY_CUSTODIAN');
    });

    it('rejects an activation that hands the device to anyone but its signer (ERR_VERIFY_ACTIVATION_OWNER)', async () => {
      // The activation's `to` is the one key a resale may come from: naming another key would let it sell the device.
      const activation = { signer: w.customer, to: w.reseller, kind: 'activation' as const, time: T_ACTIVATION, stage: 'activation' };
      const chain = await signChain(w.device, [...standardSteps(w), activation]);
      await expectReject(bundleText(w.device, [w.acmeIssuing.der], chain), 'ERR_VERIFY_ACTIVATION_OWNER');
    });

    it('rejects an activation right after an activation (ERR_VERIFY_AFTER_ACTIVATION)', async () => {
      const activation = { signer: w.customer, to: w.customer, kind: 'activation' as const, time: T_ACTIVATION, stage: 'activation' };
      const chain = await signChain(w.device, [...standardSteps(w), activation, { ...activation, time: new Date('2026-12-24T00:00:00Z') }]);
      await expectReject(bundleText(w.device, [w.acmeIssuing.der], chain), 'ERR_VERIFY_AFTER_ACTIVATION');
    });

    it('rejects signing times that go backwards or lie after the verification time (ERR_VERIFY_TIME)', async () => {
      const steps = standardSteps(w);
      steps[2] = { ...steps[2]!, time: new Date(T_BIRTH.getTime() - 60_000) };
      await expectReject(bundleText(w.device, [w.acmeIssuing.der], await signChain(w.device, steps)), 'ERR_VERIFY_TIME');
      await expectReject(text, 'ERR_VERIFY_TIME', verifier, { at: new Date(T_HANDOFF2.getTime() - 1000) });
    });

    it('rejects a signer index pointed at another certificate (ERR_VERIFY_SIGNER)', async () => {
      for (const other of ['0', '1', '3']) await expectReject(text.replace('"signer":2', `"signer":${other}`), 'ERR_VERIFY_SIGNER');
    });

    it('turns unparseable input into ERR_BUNDLE_MALFORMED, never a crash', async () => {
      for (const t of ['', 'null', '{', text.slice(0, 100), '{"version":1}']) await expectReject(t, 'ERR_BUNDLE_MALFORMED');
      await expectReject({ version: 1, certificates: [new Uint8Array([0x30, 0])], attestations: [] } as unknown as Bundle, /^ERR_/);
    });
  });

  describe('workflow and policy', () => {
    const workflow = () => parseWorkflow(readFileSync(new URL('../../../../workflows/supply-chain.yaml', import.meta.url), 'utf8'), 'supply-chain.yaml');
    const trust = () => ({
      cas: {
        manufacturer: { subjectDN: '', certSha256: sha256hex(w.acmeIssuing.der) },
        integrator: { subjectDN: '', certSha256: sha256hex(w.northwindRoot.der) },
        reseller: { subjectDN: '', certSha256: sha256hex(w.contosoRoot.der) },
        customer: { subjectDN: '', certSha256: sha256hex(w.fabrikamRoot.der) },
      },
    });

    it('accepts the chain under the supply-chain workflow', async () => {
      const r = await make({ workflow: { workflow: workflow(), trust: trust() } }).verify(text);
      assert.equal(r.ok, true, JSON.stringify(r.checks.filter((c) => !c.ok)));
      assert.ok(r.checks.some((c) => c.name.startsWith('workflow: ')));
    });

    it('rejects a birth signed by a party the workflow does not allow (ERR_WORKFLOW_REJECT_*)', async () => {
      const steps = standardSteps(w);
      steps[0] = { ...steps[0]!, signer: w.integrator };
      const r = await expectReject(
        bundleText(w.device, [w.acmeIssuing.der], await signChain(w.device, steps)),
        /^ERR_WORKFLOW_REJECT_/,
        make({ workflow: { workflow: workflow(), trust: trust() } }),
      );
      assert.ok(r.checks.some((c) => c.code === 'ERR_WORKFLOW_REJECT_SIGNER' || c.code === 'ERR_WORKFLOW_REJECT_ORDER'));
    });
  });

  describe('performance', () => {
    it('prints bundles/s against raw node:crypto verifications/s (never asserts)', async function () {
      this.timeout(120_000);
      const { createPublicKey, verify: nodeVerify, createPrivateKey, sign: nodeSign } = await import('node:crypto');
      const N = 2000;
      const texts: string[] = [];
      const devices: Holder[] = [];
      for (let i = 0; i < 50; i++) devices.push(await makeDevice(w.acmeIssuing, `SN1${String(i).padStart(5, '0')}`));
      for (const d of devices) texts.push(bundleText(d, [w.acmeIssuing.der], await signChain(d, standardSteps(w))));
      const v = make();
      for (const t of texts) assert.equal((await v.verify(t)).ok, true);
      let t0 = performance.now();
      for (let i = 0; i < N; i++) await v.verify(texts[i % texts.length]!);
      const bundlesPerSec = N / ((performance.now() - t0) / 1000);

      const key = createPrivateKey({ key: Buffer.from(await provider.exportPrivateKey(w.factory.keys.privateKey)), format: 'der', type: 'pkcs8' });
      const pub = createPublicKey(key);
      const data = parseAttestation(w.chain[0]!).signedAttrs;
      const sig = nodeSign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
      const M = 8000;
      t0 = performance.now();
      for (let i = 0; i < M; i++) nodeVerify('sha256', data, { key: pub, dsaEncoding: 'ieee-p1363' }, sig);
      const verifyPerSec = M / ((performance.now() - t0) / 1000);
      const rawBundles = verifyPerSec / 4;
      console.log(
        `      verify.bundlesPerSec = ${bundlesPerSec.toFixed(0)}; native.verifyPerSec = ${verifyPerSec.toFixed(0)} -> native.bundlePerSec (4 verifications) = ${rawBundles.toFixed(0)}; ratio = ${((100 * bundlesPerSec) / rawBundles).toFixed(0)}%`,
      );
    });
  });
});
