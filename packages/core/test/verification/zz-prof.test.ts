import { makeWorld, makeDevice, signChain, standardSteps, provider, AT } from '/work/main/packages/core/test/verification/fixtures.ts';
import { createBundle } from '/work/main/packages/core/src/bundle/create-bundle.ts';
import { encodeBundle } from '/work/main/packages/core/src/bundle/encode-bundle.ts';
import { parseBundle } from '/work/main/packages/core/src/bundle/parse-bundle.ts';
import { rebuildAttestation } from '/work/main/packages/core/src/bundle/rebuild-attestation.ts';
import { parseAttestation } from '/work/main/packages/core/src/attestation/cms.ts';
import { parseCertificate } from '/work/main/packages/core/src/validation/certificate.ts';
import { PathValidator } from '/work/main/packages/core/src/validation/path-validator.ts';
import { createVerifier } from '/work/main/packages/core/src/verification/verifier.ts';
it('prof', async function () {
  this.timeout(100000);
  const w = await makeWorld();
  const texts: string[] = [];
  for (let i = 0; i < 20; i++) { const d = await makeDevice(w.acmeIssuing, `SN${i}`); texts.push(encodeBundle(createBundle({ certificate: d.der, chain: [w.acmeIssuing.der], attestations: await signChain(d, standardSteps(w)) }))); }
  const N = 2000;
  const time = async (name: string, f: (i: number) => unknown) => { const t0 = performance.now(); for (let i = 0; i < N; i++) await f(i); console.log(name, ((performance.now() - t0) * 1000 / N).toFixed(1), 'us'); };
  const bundles = texts.map(parseBundle);
  if (process.env.ONLY) { const v0 = createVerifier({ trustAnchors: w.trustAnchors, provider, at: AT }); for (let k = 0; k < 3; k++) await time('verify', (i) => v0.verify(texts[i % 20]!)); return; }
  await time('parseBundle', (i) => parseBundle(texts[i % 20]!));
  await time('rebuild x3', (i) => bundles[i % 20]!.attestations.forEach((a) => rebuildAttestation(a, bundles[i % 20]!.certificates)));
  const ders = bundles.map((b) => b.attestations.map((a) => rebuildAttestation(a, b.certificates)));
  await time('parseAttestation x3', (i) => ders[i % 20]!.forEach((d) => parseAttestation(d)));
  await time('parseCertificate', (i) => parseCertificate(bundles[i % 20]!.certificates[0]!));
  const pv = new PathValidator({ trustAnchors: w.trustAnchors, provider });
  await time('device path', (i) => pv.validate({ leaf: parseCertificate(bundles[i % 20]!.certificates[0]!), intermediates: bundles[i % 20]!.certificates.slice(1), at: AT, requiredKeyUsage: ['digitalSignature'] }));
  const v = createVerifier({ trustAnchors: w.trustAnchors, provider, at: AT });
  await time('verify', (i) => v.verify(texts[i % 20]!));
});
