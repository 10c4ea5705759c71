/**
 * `firmware.verifyPerSec`: the device side of an update, in memory (no file reads), for a release of a 1 MiB
 * image: the state's consistency (its kept manifest verified), the new manifest verified under the root (signature,
 * codeSigning, a path through the issuing CA, each run from a fresh trust as a booting device has), the image hashed,
 * and the device rules. Against `native.firmwarePerSec`: node:crypto doing only a SHA-256 of 1 MiB and one
 * ECDSA P-256 verification, measured in the same run before and after, averaged.
 *
 *   node bench/run.mjs --only firmware [--quick]
 */
import { createHash, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFirmwareSigner, createRelease } from '@custody/app/firmware';
import { loadTemplate, templatesDir } from '@custody/app/context';
import { NodeCryptoProvider } from '@custody/core/node';
import { checkUpdate, checkUpdateState, createReleaseTrust, verifyReleaseManifest, INITIAL_UPDATE_STATE } from '@custody/core/release';
import { decodePEM } from '@custody/core/x509';
import { EmbeddedStore } from '@custody/store';

const MiB = 1024 * 1024;
const provider = new NodeCryptoProvider();

/** Operations per second of `op`, run `n` times after `n / 10` warm-up runs. */
async function rate(n, op) {
  for (let i = 0; i < Math.max(1, n / 10); i++) await op();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await op();
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/** The native limit: SHA-256 of the image and one ECDSA P-256 verification, nothing else. */
function nativeRate(n, image) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = randomBytes(200);
  const sig = sign('sha256', data, privateKey);
  return rate(n, () => {
    createHash('sha256').update(image).digest();
    verify('sha256', data, publicKey, sig);
  });
}

/** The firmware figures, with a store made in `tmp` (root, issuing CA under it, a firmware signer). */
export async function firmwareFigures({ quick = false, tmp, setupStore, passphrase }) {
  const n = quick ? 200 : 2000;
  const store = await setupStore(await EmbeddedStore.init(join(tmp, 'firmware'), new Date()));
  try {
    const now = new Date();
    await createFirmwareSigner(store, {
      name: 'fw',
      ca: 'issuing',
      template: await loadTemplate(templatesDir(undefined), 'firmware-signer'),
      organization: 'Bench',
      protection: { passphrase },
      passphrase,
      now,
    });
    const image = randomBytes(MiB);
    writeFileSync(join(tmp, 'image.bin'), image);
    const out = join(tmp, 'release.der');
    const common = { file: join(tmp, 'image.bin'), imageName: 'image.bin', models: ['B1'], expires: 'P30D', signer: 'fw', passphrase, now };
    await createRelease(store, { ...common, version: '1', securityCounter: 1, out: join(tmp, 'first.der') });
    await createRelease(store, { ...common, version: '2', securityCounter: 2, out });
    const root = decodePEM((await store.getCA('root')).certificate, ['CERTIFICATE']);
    const first = new Uint8Array(readFileSync(join(tmp, 'first.der')));
    const manifest = new Uint8Array(readFileSync(out));
    const state = { ...INITIAL_UPDATE_STATE, counter: 1, release: first };
    const at = new Date();
    const before = await nativeRate(n, image);
    const perSec = await rate(n, async () => {
      const trust = createReleaseTrust([root], provider);
      await checkUpdateState(state, trust);
      const release = await verifyReleaseManifest(manifest, trust, at);
      const digest = { length: image.length, sha256: provider.sync.digestHexSync('SHA-256', image) };
      checkUpdate({ release, image: digest, model: 'B1', now: at, state });
    });
    const after = await nativeRate(n, image);
    return { 'native.firmwarePerSec': (before + after) / 2, 'firmware.verifyPerSec': perSec };
  } finally {
    await store.close();
  }
}
