import assert from 'node:assert/strict';
import type { Claims } from '../../src/attestation/claims.js';
import { checkFirmwareReleases, type FirmwareStep, type ReleaseSet, type TrustedRelease } from '../../src/verification/firmware-releases.js';

// The module judges a chain against releases its caller verified: these are such releases, by manifest hash.
const hex = (c: string): string => c.repeat(64);
const IMAGE_1 = hex('1');
const IMAGE_2 = hex('2');
const ROOT = hex('f');
const T0 = new Date('2027-01-10T00:00:00Z');
const T1 = new Date('2027-01-20T00:00:00Z');

function release(manifest: string, image: string, counter: number, over: Partial<TrustedRelease> = {}): TrustedRelease {
  return {
    manifestSha256: manifest,
    imageSha256: image,
    version: `v${counter}`,
    securityCounter: counter,
    models: ['NG-200'],
    time: new Date('2027-01-01T00:00:00Z'),
    expires: new Date('2027-06-01T00:00:00Z'),
    signer: 'Northwind Firmware',
    anchorSha256: ROOT,
    ...over,
  };
}

const R1 = release(hex('a'), IMAGE_1, 1);
const R2 = release(hex('b'), IMAGE_2, 2);

function set(over: Partial<ReleaseSet> = {}): ReleaseSet {
  return { releases: new Map([R1, R2].map((r) => [r.manifestSha256, r])), withdrawn: new Map(), problems: [], ...over };
}

const birth: FirmwareStep = { n: 0, claims: { production: { model: 'NG-200' } }, time: T0 };
const install = (n: number, image: string, release: string | undefined, time = T1): FirmwareStep => {
  const firmware: NonNullable<Claims['firmware']> = { version: 'x', sha256: image };
  if (release !== undefined) firmware.release = release;
  return { n, claims: { firmware }, time };
};

describe('verification: checkFirmwareReleases', () => {
  it('accepts installs of signed releases for the model with counters rising, and reports the last counter', () => {
    const out = checkFirmwareReleases([birth, install(1, IMAGE_1, R1.manifestSha256), install(2, IMAGE_2, R2.manifestSha256)], 'NG-200', set());
    assert.deepEqual(
      out.checks.map((c) => [c.name, c.ok]),
      [
        ['attestation 1: firmware', true],
        ['attestation 2: firmware', true],
      ],
    );
    assert.deepEqual(out.evidence, { ok: true, installs: 2, counter: 2 });
  });

  it('a chain that installs nothing has no firmware checks and no counter', () => {
    assert.deepEqual(checkFirmwareReleases([birth], 'NG-200', set()), { checks: [], evidence: { ok: true, installs: 0 } });
  });

  const refused = (steps: FirmwareStep[], s: ReleaseSet, code: string, reason: RegExp, model: string | undefined = 'NG-200') => {
    const out = checkFirmwareReleases([birth, ...steps], model, s);
    const bad = out.checks.find((c) => !c.ok);
    assert.ok(bad, 'a failed check');
    assert.equal(bad.code, code);
    assert.match(bad.reason!, reason);
    assert.equal(out.evidence.ok, false);
    return out;
  };

  it('refuses an image attested without a release (unsigned)', () =>
    refused([install(1, IMAGE_1, undefined)], set(), 'ERR_VERIFY_FIRMWARE_UNSIGNED', /names no signed release/));

  it('refuses a release that was not supplied', () =>
    refused([install(1, IMAGE_1, hex('c'))], set(), 'ERR_VERIFY_FIRMWARE_RELEASE_MISSING', /not among the releases supplied/));

  it('refuses a release whose manifest did not verify, naming its code', () => {
    const s = set({ releases: new Map([[hex('a'), { manifestSha256: hex('a'), code: 'ERR_VERIFY_FIRMWARE_SIGNER', reason: 'no codeSigning EKU' }]]) });
    refused([install(1, IMAGE_1, hex('a'))], s, 'ERR_VERIFY_FIRMWARE_RELEASE_INVALID', /does not stand \(ERR_VERIFY_FIRMWARE_SIGNER\): no codeSigning EKU/);
  });

  it("refuses a release whose signer chains to another root than the device's", () => {
    const foreign = release(hex('e'), IMAGE_1, 5, { anchorSha256: hex('9'), signer: 'Integrator Code Signer' });
    const s = set({ releases: new Map([[foreign.manifestSha256, foreign]]) });
    const out = checkFirmwareReleases([birth, install(1, IMAGE_1, foreign.manifestSha256)], 'NG-200', s, ROOT);
    assert.equal(out.checks[0]!.code, 'ERR_VERIFY_FIRMWARE_SIGNER');
    assert.match(out.checks[0]!.reason!, /"Integrator Code Signer" under another root/);
    // The same release for a device under that other root stands.
    assert.equal(checkFirmwareReleases([birth, install(1, IMAGE_1, foreign.manifestSha256)], 'NG-200', s, hex('9')).evidence.ok, true);
  });

  it('refuses an attested image that is not the release subject', () =>
    refused([install(1, IMAGE_2, R1.manifestSha256)], set(), 'ERR_VERIFY_FIRMWARE_IMAGE', /is not release v1's image/));

  it("refuses another model's release, and a chain that names no model", () => {
    refused([install(1, IMAGE_1, R1.manifestSha256)], set(), 'ERR_VERIFY_FIRMWARE_MODEL', /not for this device's model NG-300/, 'NG-300');
    const none = checkFirmwareReleases([birth, install(1, IMAGE_1, R1.manifestSha256)], undefined, set());
    assert.equal(none.checks[0]!.code, 'ERR_VERIFY_FIRMWARE_MODEL');
    assert.match(none.checks[0]!.reason!, /names no device model/);
  });

  it('refuses a withdrawn release, naming who withdrew it', () =>
    refused(
      [install(1, IMAGE_1, R1.manifestSha256)],
      set({ withdrawn: new Map([[R1.manifestSha256, '"Northwind Firmware" at 2027-01-15T00:00:00Z']]) }),
      'ERR_VERIFY_FIRMWARE_WITHDRAWN',
      /withdrawn by "Northwind Firmware"/,
    ));

  it('refuses a release installed after it expired', () =>
    refused([install(1, IMAGE_1, R1.manifestSha256, new Date('2027-06-01T00:00:01Z'))], set(), 'ERR_VERIFY_FIRMWARE_EXPIRED', /expired/));

  it('refuses an install the attestation dates before the release was signed (backdated past its expiry)', () => {
    // Signed on 2027-02-01 and already expired when installed: the attestation claims a time inside its window.
    const late = release(hex('d'), IMAGE_1, 3, { time: new Date('2027-02-01T00:00:00Z'), expires: new Date('2027-02-15T00:00:00Z') });
    refused(
      [install(1, IMAGE_1, late.manifestSha256, T1)],
      set({ releases: new Map([[late.manifestSha256, late]]) }),
      'ERR_VERIFY_FIRMWARE_BACKDATED',
      /before it was signed \(2027-02-01T00:00:00.000Z\)/,
    );
    // An installer's clock a minute behind the signer's is skew, not a false date.
    const fresh = release(hex('d'), IMAGE_1, 3, { time: new Date(T1.getTime() + 60_000) });
    assert.equal(
      checkFirmwareReleases([birth, install(1, IMAGE_1, fresh.manifestSha256, T1)], 'NG-200', set({ releases: new Map([[fresh.manifestSha256, fresh]]) }))
        .evidence.ok,
      true,
    );
  });

  it('refuses a lower counter later in the chain (rollback), and keeps no counter for the policy', () => {
    const out = refused(
      [install(1, IMAGE_2, R2.manifestSha256), install(2, IMAGE_1, R1.manifestSha256)],
      set(),
      'ERR_VERIFY_FIRMWARE_ROLLBACK',
      /counter 1, below the 2 attestation 1 installed/,
    );
    assert.equal(out.evidence.counter, undefined);
    assert.equal(out.checks[1]!.attestation, 2);
  });

  it('the same counter again is no rollback (a re-install)', () => {
    const out = checkFirmwareReleases([birth, install(1, IMAGE_1, R1.manifestSha256), install(2, IMAGE_1, R1.manifestSha256)], 'NG-200', set());
    assert.equal(out.evidence.ok, true);
  });

  it("a withdrawal list's problem fails the outcome even when every install matches", () => {
    const problem = { name: 'firmware: withdrawals', ok: false, code: 'ERR_VERIFY_FIRMWARE_WITHDRAWAL', reason: 'unsigned' };
    const out = checkFirmwareReleases([birth, install(1, IMAGE_1, R1.manifestSha256)], 'NG-200', set({ problems: [problem] }));
    assert.equal(out.checks[0], problem);
    assert.equal(out.evidence.ok, false);
  });
});
