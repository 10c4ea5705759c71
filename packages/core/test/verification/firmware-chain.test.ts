/**
 * The verifier with `releases`: a chain whose integrator installs firmware is checked against real release
 * manifests and withdrawal lists (CMS, signed by a firmware signer from the shipped template), verified under the
 * trust anchors by `verifyReleaseSet`.
 */
import assert from 'node:assert/strict';
import type { Claims } from '../../src/attestation/claims.js';
import { createAttestationSigner } from '../../src/attestation/cms.js';
import { createBundle } from '../../src/bundle/create-bundle.js';
import { encodeBundle } from '../../src/bundle/encode-bundle.js';
import { createReleaseStatement } from '../../src/release/release-statement.js';
import { signReleaseManifest } from '../../src/release/release-manifest.js';
import { createWithdrawalList, signWithdrawalList } from '../../src/release/withdrawals.js';
import { verifyReleaseSet, type ReleaseDocuments } from '../../src/verification/release-set.js';
import { createVerifier } from '../../src/verification/verifier.js';
import { parsePolicy } from '../../src/workflow/policy.js';
import { loadTemplate } from '../x509/fixtures.js';
import {
  AT,
  BIRTH_CLAIMS,
  T_BIRTH,
  T_HANDOFF1,
  T_HANDOFF2,
  makeSignerFrom,
  makeWorld,
  provider,
  sha256hex,
  signChain,
  type Party,
  type World,
} from './fixtures.js';

const MODEL = 'T1';
const IMAGE_A = 'a1'.repeat(32);
const IMAGE_B = 'b2'.repeat(32);
const REQUIRED = parsePolicy('name: fw\nlogInclusion: optional\nproofOfPossession: optional\nrevocationCheck: optional\nsignedFirmware: required\n', 'fw.yaml');
const { firmware: _birthFirmware, ...birthClaims } = BIRTH_CLAIMS;
const BIRTH: Claims = { ...birthClaims, production: { model: MODEL } };

describe('verification: installed firmware against signed releases', function () {
  let w: World;
  let fw: Party;
  let releaseA: Uint8Array;
  let releaseB: Uint8Array;

  async function release(signer: Party, o: { image: string; counter: number; models?: string[]; version?: string }): Promise<Uint8Array> {
    const statement = createReleaseStatement({
      imageName: 'firmware.bin',
      imageSha256: o.image,
      version: o.version ?? `1.${o.counter}.0`,
      securityCounter: o.counter,
      length: 1024,
      models: o.models ?? [MODEL],
      expires: '2027-06-01T00:00:00Z',
      previous: null,
      signer: signer.spkiSha256,
      time: '2026-11-25T00:00:00Z',
    });
    return signReleaseManifest(signer.signer, statement, new Date('2026-11-25T00:00:00Z'));
  }

  async function withdraw(signer: Party, manifests: Uint8Array[]): Promise<Uint8Array> {
    const list = createWithdrawalList({
      number: 1,
      thisUpdate: '2026-12-15T00:00:00Z',
      nextUpdate: '2027-01-30T00:00:00Z',
      signer: signer.spkiSha256,
      withdrawn: manifests.map((m) => ({ release: sha256hex(m), time: '2026-12-15T00:00:00Z' })),
    });
    return signWithdrawalList(signer.signer, list, new Date('2026-12-15T00:00:00Z'));
  }

  const installs = (image: string, manifest: Uint8Array | undefined): Claims => ({
    firmware: { version: '1.x', sha256: image, ...(manifest ? { release: sha256hex(manifest) } : {}) },
  });

  /** The chain birth -> integration (installs `integration`) -> resale (installs `resale`, if any). */
  async function bundle(integration: Claims, resale: Claims = {}, birth: Claims = BIRTH): Promise<string> {
    const chain = await signChain(w.device, [
      { signer: w.factory, to: w.integrator, kind: 'birth', time: T_BIRTH, claims: birth },
      { signer: w.integrator, to: w.reseller, kind: 'handoff', time: T_HANDOFF1, claims: integration },
      { signer: w.reseller, to: w.customer, kind: 'handoff', time: T_HANDOFF2, claims: resale },
    ]);
    return encodeBundle(createBundle({ certificate: w.device.der, chain: [w.acmeIssuing.der], attestations: chain }));
  }

  async function verify(text: string, docs: Partial<ReleaseDocuments> | undefined, policy = REQUIRED) {
    const releases = docs
      ? await verifyReleaseSet({ manifests: docs.manifests ?? [], withdrawals: docs.withdrawals ?? [] }, w.trustAnchors, provider)
      : undefined;
    return createVerifier({ trustAnchors: w.trustAnchors, provider, at: AT, policy, ...(releases ? { releases } : {}) }).verify(text);
  }

  const doc = (name: string, der: Uint8Array) => ({ name, der });

  function rejected(r: Awaited<ReturnType<typeof verify>>, code: string, reason?: RegExp): void {
    assert.equal(r.ok, false, 'must be rejected');
    assert.equal(r.code, code, JSON.stringify(r.checks.filter((c) => !c.ok)));
    if (reason) assert.match(r.checks.find((c) => c.code === code)!.reason!, reason);
  }

  before(async function () {
    w = await makeWorld();
    const made = await makeSignerFrom(w.acmeIssuing, 'Acme Firmware Signer', () => loadTemplate('firmware-signer'));
    // A manifest carries the signer's CA chain (no root), so that the root alone verifies it.
    const signer = await createAttestationSigner({ certificate: made.der, key: made.keys.privateKey, provider, chain: [w.acmeIssuing.der] });
    fw = { ...made, signer };
    releaseA = await release(fw, { image: IMAGE_A, counter: 2 });
    releaseB = await release(fw, { image: IMAGE_B, counter: 1 });
  });

  it('accepts a chain whose integrator installs a signed release, under a policy that requires it', async function () {
    const r = await verify(await bundle(installs(IMAGE_A, releaseA)), { manifests: [doc('a.der', releaseA), doc('b.der', releaseB)] });
    assert.equal(r.ok, true, JSON.stringify(r.checks.filter((c) => !c.ok)));
    const check = r.checks.find((c) => c.name === 'attestation 1: firmware')!;
    assert.equal(check.ok, true);
    assert.match(check.reason!, /release 1\.2\.0 \(counter 2\) signed by ".*Acme Firmware Signer.*" for T1/);
    assert.equal(r.checks.find((c) => c.name === 'policy: signedFirmware')!.ok, true);
  });

  it('the policy fails closed without --releases (ERR_POLICY_SIGNED_FIRMWARE)', async function () {
    rejected(await verify(await bundle(installs(IMAGE_A, releaseA)), undefined), 'ERR_POLICY_SIGNED_FIRMWARE', /--releases/);
  });

  it('rejects an integrator that attested an unsigned image (ERR_VERIFY_FIRMWARE_UNSIGNED)', async function () {
    rejected(await verify(await bundle(installs(IMAGE_A, undefined)), { manifests: [doc('a.der', releaseA)] }), 'ERR_VERIFY_FIRMWARE_UNSIGNED');
  });

  it('rejects an attested image that is not the release subject (ERR_VERIFY_FIRMWARE_IMAGE)', async function () {
    rejected(await verify(await bundle(installs(IMAGE_B, releaseA)), { manifests: [doc('a.der', releaseA)] }), 'ERR_VERIFY_FIRMWARE_IMAGE');
  });

  it('rejects a release missing from the folder (ERR_VERIFY_FIRMWARE_RELEASE_MISSING)', async function () {
    rejected(await verify(await bundle(installs(IMAGE_A, releaseA)), { manifests: [doc('b.der', releaseB)] }), 'ERR_VERIFY_FIRMWARE_RELEASE_MISSING');
  });

  it('rejects a withdrawn release (ERR_VERIFY_FIRMWARE_WITHDRAWN)', async function () {
    const list = await withdraw(fw, [releaseA]);
    rejected(
      await verify(await bundle(installs(IMAGE_A, releaseA)), { manifests: [doc('a.der', releaseA)], withdrawals: [doc('w.der', list)] }),
      'ERR_VERIFY_FIRMWARE_WITHDRAWN',
      /withdrawn by ".*Acme Firmware Signer.*" at 2026-12-15T00:00:00Z/,
    );
  });

  it("rejects another model's release (ERR_VERIFY_FIRMWARE_MODEL), also when a later party claims the other model", async function () {
    const t2 = await release(fw, { image: IMAGE_A, counter: 2, models: ['T2'] });
    const docs = { manifests: [doc('t2.der', t2)] };
    rejected(await verify(await bundle(installs(IMAGE_A, t2)), docs), 'ERR_VERIFY_FIRMWARE_MODEL', /not for this device's model T1/);
    // The model is the factory's: a handoff that says "production.model: T2" does not make the device a T2.
    rejected(await verify(await bundle({ ...installs(IMAGE_A, t2), production: { model: 'T2' } }), docs), 'ERR_VERIFY_FIRMWARE_MODEL');
  });

  it('rejects a lower security counter later in the chain (ERR_VERIFY_FIRMWARE_ROLLBACK)', async function () {
    const text = await bundle(installs(IMAGE_A, releaseA), installs(IMAGE_B, releaseB));
    rejected(
      await verify(text, { manifests: [doc('a.der', releaseA), doc('b.der', releaseB)] }),
      'ERR_VERIFY_FIRMWARE_ROLLBACK',
      /counter 1, below the 2 attestation 1 installed/,
    );
    // The other order raises the counter: accepted.
    assert.equal(
      (await verify(await bundle(installs(IMAGE_B, releaseB), installs(IMAGE_A, releaseA)), { manifests: [doc('a.der', releaseA), doc('b.der', releaseB)] }))
        .ok,
      true,
    );
  });

  it("rejects a release signed by a party key without codeSigning, naming the manifest check's code", async function () {
    const forged = await release(w.factory, { image: IMAGE_A, counter: 2 });
    rejected(
      await verify(await bundle(installs(IMAGE_A, forged)), { manifests: [doc('forged.der', forged)] }),
      'ERR_VERIFY_FIRMWARE_RELEASE_INVALID',
      /\(ERR_RELEASE_SIGNER_EKU\): forged\.der/,
    );
  });

  it("rejects a release by a code signer under another party's root (ERR_VERIFY_FIRMWARE_SIGNER)", async function () {
    // The integrator's own root issues a codeSigning certificate: its releases verify under the anchors, but
    // cannot vouch for firmware on a device whose manufacturer is Acme.
    const made = await makeSignerFrom(w.northwindRoot, 'Northwind Code Signer', () => loadTemplate('firmware-signer'));
    const own = { ...made, signer: await createAttestationSigner({ certificate: made.der, key: made.keys.privateKey, provider }) };
    const theirs = await release(own, { image: IMAGE_A, counter: 2 });
    rejected(
      await verify(await bundle(installs(IMAGE_A, theirs)), { manifests: [doc('theirs.der', theirs)] }),
      'ERR_VERIFY_FIRMWARE_SIGNER',
      /Northwind Code Signer.*under another root/,
    );
  });

  it('a withdrawal list that does not verify fails the check rather than be ignored (ERR_VERIFY_FIRMWARE_WITHDRAWAL)', async function () {
    const byParty = await withdraw(w.integrator, [releaseB]);
    rejected(
      await verify(await bundle(installs(IMAGE_A, releaseA)), { manifests: [doc('a.der', releaseA)], withdrawals: [doc('w.der', byParty)] }),
      'ERR_VERIFY_FIRMWARE_WITHDRAWAL',
      /w\.der does not stand \(ERR_WITHDRAWALS_SIGNER_EKU\)/,
    );
  });

  it('minFirmwareCounter takes the installed release counter', async function () {
    const text = await bundle(installs(IMAGE_A, releaseA));
    const docs = { manifests: [doc('a.der', releaseA)] };
    const at = (n: number) =>
      parsePolicy(`name: c\nlogInclusion: optional\nproofOfPossession: optional\nrevocationCheck: optional\nminFirmwareCounter: ${n}\n`, 'c.yaml');
    assert.equal((await verify(text, docs, at(2))).ok, true);
    rejected(await verify(text, docs, at(3)), 'ERR_POLICY_FIRMWARE_COUNTER');
  });
});
