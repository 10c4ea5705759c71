/**
 * Keys in a token, end to end on SoftHSM: a root and an issuing CA and a party whose keys were generated
 * non-extractable in the token; every use case reaches them through `loadKey`; a batch provisioned under them;
 * openssl accepts the chain, the CRL and the birth attestations; pkcs11-tool shows the keys never extractable;
 * a wrong PIN, a missing object, token or module each give one line with a code and change nothing.
 * Skipped, saying why, where SoftHSM is not installed (.ci/run installs it).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CertificateFactory } from '@custody/core/x509';
import { readCertificateInfo } from '@custody/core/x509';
import { encodePEM } from '@custody/core/x509';
import { toHex } from '@custody/core/util';
import { isLowS } from '@custody/core/crypto';
import { parsePKCS11URI } from '@custody/core/keys';
import type { CertificateTemplate } from '@custody/core/templates';
import { CustodyError } from '@custody/core/errors';
import { EmbeddedStore } from '@custody/store';
import type { KeyRef, Store } from '@custody/store/registry';
import { createParty } from '../../src/ca.js';
import { loadKey, loadTemplate, provider, templatesDir } from '../../src/context.js';
import { provision } from '../../src/provision.js';
import { transferDevices } from '../../src/handoff.js';
import { publishCRL } from '../../src/revocation.js';
import { generateTokenKey } from '../../src/pkcs11/generate-key.js';
import { isNeverExtractable, openTokenKey, type TokenPrivateKey } from '../../src/pkcs11/token-key.js';
import { closeTokenSessions, openTokenSession } from '../../src/pkcs11/token-session.js';
import { pkcs11Tool, testTokenOrSkip, type TestToken } from './softhsm.js';

const PIN = '246810';
const PASS = 'token test passphrase';
const LABEL = 'custody-test';

function openssl(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Asserts a one-line CustodyError with `code` that does not repeat the PIN. */
function oneLine(code: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof CustodyError, `not a CustodyError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.ok(!e.message.includes('\n'), `more than one line: ${e.message}`);
    assert.ok(!e.message.includes(PIN), 'the message repeats the PIN');
    return true;
  };
}

describe('keys in a PKCS#11 token (SoftHSM)', function () {
  this.timeout(120_000);
  let token: TestToken;
  let store: Store;
  const saved = { module: process.env.CUSTODY_PKCS11_MODULE, pin: process.env.CUSTODY_PKCS11_PIN };
  const now = new Date();
  let templates: Record<'root' | 'issuing' | 'party' | 'idevid', CertificateTemplate>;
  const uris: Record<string, string> = {};

  /** A URI with the test PIN file, for `object=`. */
  const keyURI = (object: string) => `pkcs11:token=${LABEL};object=${object}?pin-source=file:${token.pinFile}`;

  /** A certificate for a key generated in the token, issued by `issuer` (a token key through loadKey) or self-signed. */
  async function tokenCertificate(
    name: string,
    template: CertificateTemplate,
    issuer?: { ref: KeyRef; der: Uint8Array },
  ): Promise<{ ref: KeyRef; der: Uint8Array; key: TokenPrivateKey }> {
    const { uri, key } = generateTokenKey(keyURI(name), { curve: template.keyAlgorithm, readFile: (f) => readFileSync(f) });
    const ref: KeyRef = { type: 'pkcs11', uri };
    uris[name] = uri;
    const issuerKey = issuer ? loadKey(store, issuer.ref, undefined) : loadKey(store, ref, undefined);
    const vars = { name, organization: 'Token Test' };
    const factory = await CertificateFactory.create({
      template,
      issuer: issuer ? { certificate: readCertificateInfo(issuer.der), key: issuerKey } : { key: issuerKey },
      provider,
      notBefore: now,
      vars,
    });
    return { ref, der: (await factory.issue({ spki: key.spki, vars })).der, key };
  }

  before(async function () {
    token = testTokenOrSkip(this, LABEL, PIN);
    process.env.CUSTODY_PKCS11_MODULE = token.module;
    delete process.env.CUSTODY_PKCS11_PIN;
    const tdir = templatesDir(undefined);
    templates = {
      root: await loadTemplate(tdir, 'root-ca'),
      issuing: await loadTemplate(tdir, 'issuing-ca'),
      party: await loadTemplate(tdir, 'party'),
      idevid: await loadTemplate(tdir, 'idevid'),
    };
    store = await EmbeddedStore.init(join(token.dir, 'store'), now);
  });

  after(async () => {
    closeTokenSessions();
    await store?.close();
    token?.dispose();
    for (const [k, v] of [
      ['CUSTODY_PKCS11_MODULE', saved.module],
      ['CUSTODY_PKCS11_PIN', saved.pin],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('generates keys non-extractable and sensitive, as the token itself reports', async () => {
    const root = await tokenCertificate('root', templates.root);
    assert.equal(root.key.curve, 'P-256');
    assert.deepEqual(root.key.protection, {
      token: true,
      hardwareSlot: false,
      local: true,
      extractable: false,
      neverExtractable: true,
      sensitive: true,
      alwaysSensitive: true,
    });
    assert.equal(isNeverExtractable(root.key.protection), true);
    await store.addCA({ name: 'root', template: 'root-ca', certificate: encodePEM(root.der, 'CERTIFICATE'), key: root.ref, createdAt: now.toISOString() });
    const rootInfo = readCertificateInfo(root.der);
    const issuing = await tokenCertificate('issuing', templates.issuing, { ref: root.ref, der: root.der });
    await store.addCA({
      name: 'issuing',
      template: 'issuing-ca',
      certificate: encodePEM(issuing.der, 'CERTIFICATE'),
      key: issuing.ref,
      issuer: 'root',
      createdAt: now.toISOString(),
    });
    const party = await tokenCertificate('factory', templates.party, { ref: root.ref, der: root.der });
    await store.addParty({
      name: 'factory',
      organization: 'Token Test',
      certificate: encodePEM(party.der, 'CERTIFICATE'),
      key: party.ref,
      ca: 'root',
      spkiSha256: toHex(await provider.digest('SHA-256', party.key.spki)),
      certSha256: toHex(await provider.digest('SHA-256', party.der)),
      createdAt: now.toISOString(),
    });
    assert.equal(rootInfo.subjectText.includes('root'), true);
  });

  it('pkcs11-tool lists the private keys as sensitive and never extractable; the token refuses their value', function () {
    const listed = pkcs11Tool(token, ['--list-objects', '--type', 'privkey']);
    if (!listed) return this.skip();
    assert.equal(listed.status, 0, listed.stderr);
    const keys = listed.stdout.split(/(?=Private Key Object)/).filter((b) => b.startsWith('Private Key Object'));
    assert.equal(keys.length, 3);
    for (const k of keys) {
      assert.match(k, /Access:\s+sensitive, always sensitive, never extractable, local/);
      assert.match(k, /Usage:\s+sign\n/);
    }
    // pkcs11-tool does not try to read a private key; ask the token for CKA_VALUE directly.
    const s = openTokenSession(keyURI('root'), { readFile: (f) => readFileSync(f) });
    s.lib.C_FindObjectsInit(s.session, [
      { type: s.pkcs11.CKA_CLASS, value: s.pkcs11.CKO_PRIVATE_KEY },
      { type: s.pkcs11.CKA_LABEL, value: Buffer.from('root') },
    ]);
    const [handle] = s.lib.C_FindObjects(s.session, 1);
    s.lib.C_FindObjectsFinal(s.session);
    assert.throws(() => s.lib.C_GetAttributeValue(s.session, handle!, [{ type: s.pkcs11.CKA_VALUE }]), /CKR_ATTRIBUTE_SENSITIVE/);
  });

  it('signs with one session copy of each key, made inside the token and as sensitive and non-extractable as the key', () => {
    const env = { readFile: (f: string) => readFileSync(f) };
    const a = openTokenKey(keyURI('issuing'), env);
    const b = openTokenKey(keyURI('issuing'), env);
    const s = openTokenSession(keyURI('issuing'), env);
    const find = (onToken: boolean) => {
      s.lib.C_FindObjectsInit(s.session, [
        { type: s.pkcs11.CKA_CLASS, value: s.pkcs11.CKO_PRIVATE_KEY },
        { type: s.pkcs11.CKA_LABEL, value: Buffer.from('issuing') },
        { type: s.pkcs11.CKA_TOKEN, value: onToken },
      ]);
      try {
        return s.lib.C_FindObjects(s.session, 10);
      } finally {
        s.lib.C_FindObjectsFinal(s.session);
      }
    };
    assert.equal(find(true).length, 1);
    const copies = find(false);
    assert.equal(copies.length, 1, 'one session copy for the key, however often it is opened');
    const [sensitive, extractable] = s.lib.C_GetAttributeValue(s.session, copies[0]!, [{ type: s.pkcs11.CKA_SENSITIVE }, { type: s.pkcs11.CKA_EXTRACTABLE }]);
    assert.equal(sensitive!.value![0], 1);
    assert.equal(extractable!.value![0], 0);
    assert.throws(() => s.lib.C_GetAttributeValue(s.session, copies[0]!, [{ type: s.pkcs11.CKA_VALUE }]), /CKR_ATTRIBUTE_SENSITIVE/);
    // Both handles sign for the key's public key (the pairing check at open proves it; once more here).
    const data = new TextEncoder().encode('session copy');
    for (const k of [a, b]) {
      const pub = provider.sync!.importPublicKeySync(k.spki);
      assert.equal(provider.sync!.verifySync(pub, data, provider.sync!.signSync(k, data)), true);
    }
  });

  it('a chain signed in the token that openssl verify -x509_strict accepts; a party issued by a token CA through createParty', async () => {
    const integrator = await createParty(store, {
      name: 'integrator',
      ca: 'issuing',
      template: templates.party,
      organization: 'Token Test',
      protection: { passphrase: PASS },
      passphrase: PASS,
      now,
    });
    const dir = token.dir;
    writeFileSync(join(dir, 'root.pem'), (await store.getCA('root'))!.certificate);
    writeFileSync(join(dir, 'issuing.pem'), (await store.getCA('issuing'))!.certificate);
    writeFileSync(join(dir, 'factory.pem'), (await store.getParty('factory'))!.certificate);
    writeFileSync(join(dir, 'integrator.pem'), integrator.certificate);
    for (const [cert, untrusted] of [['issuing.pem'], ['factory.pem'], ['integrator.pem', 'issuing.pem']] as const) {
      const args = [
        'verify',
        '-x509_strict',
        '-purpose',
        'any',
        '-CAfile',
        join(dir, 'root.pem'),
        ...(untrusted ? ['-untrusted', join(dir, untrusted)] : []),
        join(dir, cert),
      ];
      const r = openssl(args);
      assert.equal(r.status, 0, `${cert}: ${r.out}`);
      assert.match(r.out, /: OK/);
    }
  });

  it('provisions a batch under the token CA with births signed by the token party: openssl verifies certificates and attestations', async () => {
    const r = await provision(store, {
      ca: 'issuing',
      template: templates.idevid,
      generate: 3,
      serialPattern: 'HSM{seq:3}',
      start: 1,
      passphrase: PASS,
      deviceKeyProtection: { passphrase: PASS },
      party: 'factory',
      now,
    });
    assert.equal(r.attestedBy, 'factory');
    assert.equal(r.devices.length, 3);
    const dir = token.dir;
    for (const d of r.devices) {
      const device = (await store.getDevice(d.serial))!;
      const certFile = join(dir, `${d.serial}.pem`);
      writeFileSync(certFile, encodePEM(device.certificate, 'CERTIFICATE'));
      const v = openssl(['verify', '-x509_strict', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'issuing.pem'), certFile]);
      assert.equal(v.status, 0, v.out);
      const attFile = join(dir, `${d.serial}.birth.der`);
      writeFileSync(attFile, device.attestations[0]!);
      const c = spawnSync('openssl', ['cms', '-verify', '-inform', 'DER', '-binary', '-purpose', 'any', '-CAfile', join(dir, 'root.pem'), '-in', attFile], {
        encoding: 'utf8',
      });
      assert.equal(c.status, 0, c.stderr);
      assert.equal(JSON.parse(c.stdout).subject[0].name.includes(d.serial), true);
    }
  });

  it('hands the batch off, signed by the token party: openssl cms -verify accepts each handoff', async () => {
    const serials = (await store.listDevices()).map((d) => d.serial).sort();
    const r = await transferDevices(store, { kind: 'handoff', serials, party: 'factory', to: 'integrator', passphrase: undefined, now });
    assert.deepEqual(
      r.results.map((x) => [x.serial, x.ok, x.seq]),
      serials.map((s) => [s, true, 1]),
    );
    for (const serial of serials) {
      const attFile = join(token.dir, `${serial}.handoff.der`);
      writeFileSync(attFile, (await store.getDevice(serial))!.attestations[1]!);
      const c = spawnSync(
        'openssl',
        ['cms', '-verify', '-inform', 'DER', '-binary', '-purpose', 'any', '-CAfile', join(token.dir, 'root.pem'), '-in', attFile],
        { encoding: 'utf8' },
      );
      assert.equal(c.status, 0, c.stderr);
      assert.match(JSON.parse(c.stdout).predicateType, /handoff/);
    }
  });

  it('regression: a handoff batch large enough for signing threads signs a token key on this thread', async () => {
    // Signing workers get the key as a node:crypto KeyObject, which a token key is not (it was a TypeError).
    const r = await provision(store, {
      ca: 'issuing',
      template: templates.idevid,
      generate: 2,
      serialPattern: 'THR{seq:3}',
      start: 1,
      passphrase: PASS,
      deviceKeyProtection: { passphrase: PASS },
      party: 'factory',
      now,
    });
    const serials = r.devices.map((d) => d.serial);
    const saved = process.env.CUSTODY_THREADS;
    process.env.CUSTODY_THREADS = '2';
    try {
      const t = await transferDevices(store, { kind: 'handoff', serials, party: 'factory', to: 'integrator', passphrase: undefined, now });
      assert.deepEqual(
        t.results.map((x) => x.ok),
        [true, true],
      );
    } finally {
      if (saved === undefined) delete process.env.CUSTODY_THREADS;
      else process.env.CUSTODY_THREADS = saved;
    }
  });

  it('signs a CRL with the token CA key that openssl crl -verify accepts', async () => {
    const out = join(token.dir, 'issuing.crl.pem');
    const r = await publishCRL(store, { ca: 'issuing', out, nextUpdateDays: 7, pem: true, passphrase: undefined, now });
    assert.equal(r.crlNumber >= 1, true);
    const v = openssl(['crl', '-in', out, '-noout', '-verify', '-CAfile', join(token.dir, 'issuing.pem')]);
    assert.match(v.out, /verify OK/);
  });

  it('returns low-S signatures only, though the token returns either twin', () => {
    const key = loadKey(store, { type: 'pkcs11', uri: uris.root! }, undefined);
    const data = new Uint8Array(32);
    for (let i = 0; i < 200; i++) {
      data[0] = i;
      assert.equal(isLowS(provider.signSync(key, data), 'P-256'), true);
    }
  });

  it('opens keys by the URIs p11tool --list-all prints, with a pin-source added', function () {
    const r = spawnSync('p11tool', ['--provider', token.module, '--list-all-privkeys', '--login', '--set-pin', PIN, `pkcs11:token=${LABEL}`], {
      encoding: 'utf8',
      env: { ...process.env, SOFTHSM2_CONF: token.conf },
    });
    if (r.error) return this.skip();
    const printed = [...r.stdout.matchAll(/URL: (pkcs11:\S+)/g)].map((m) => m[1]!);
    assert.equal(printed.length, 3, r.stdout + r.stderr);
    for (const uri of printed) {
      const parsed = parsePKCS11URI(uri);
      assert.equal(parsed.type, 'private');
      const key = openTokenKey(`${uri}?pin-source=file:${token.pinFile}`, { readFile: (f) => readFileSync(f) });
      assert.equal(parsed.object, key.name.match(/object "([^"]+)"/)![1]);
    }
  });

  it("binds a key to its certificate: another key's SPKI is refused", async () => {
    const root = loadKey(store, { type: 'pkcs11', uri: uris.root! }, undefined);
    const other = await provider.generateKeyPair('P-256');
    assert.throws(() => openTokenKey(uris.root!, { readFile: (f) => readFileSync(f), expectSpki: other.publicKey.spki }), oneLine('ERR_PKCS11_KEY_MISMATCH'));
    assert.ok(loadKey(store, { type: 'pkcs11', uri: uris.root! }, undefined, root.spki));
  });

  describe('failures: one line with a code, nothing changed', () => {
    /** The store's CAs and parties, and the token's objects: what no failure may change. */
    const snapshot = async () => ({
      cas: (await store.listCAs()).map((c) => c.name),
      parties: (await store.listParties()).map((p) => p.name),
      objects: pkcs11Tool(token, ['--list-objects'])?.stdout,
    });

    // Every case starts logged out: a process logs in to a token once, so a wrong PIN is only tried on a fresh login.
    beforeEach(() => closeTokenSessions());

    it('a wrong PIN (ERR_PKCS11_PIN), also through a use case', async () => {
      const before = await snapshot();
      const wrong = join(token.dir, 'wrong-pin');
      writeFileSync(wrong, '000000\n', { mode: 0o600 });
      assert.throws(
        () => openTokenKey(`pkcs11:token=${LABEL};object=root?pin-source=file:${wrong}`, { readFile: (f) => readFileSync(f) }),
        oneLine('ERR_PKCS11_PIN'),
      );
      process.env.CUSTODY_PKCS11_PIN = '000000';
      try {
        assert.throws(() => loadKey(store, { type: 'pkcs11', uri: `pkcs11:token=${LABEL};object=root` }, undefined), oneLine('ERR_PKCS11_PIN'));
      } finally {
        delete process.env.CUSTODY_PKCS11_PIN;
      }
      // The stored CA's URI names the PIN file; the file now holds a wrong PIN.
      writeFileSync(token.pinFile, '000000\n');
      try {
        await assert.rejects(
          createParty(store, {
            name: 'late',
            ca: 'root',
            template: templates.party,
            organization: 'Token Test',
            protection: { passphrase: PASS },
            passphrase: PASS,
            now,
          }),
          oneLine('ERR_PKCS11_PIN'),
        );
      } finally {
        writeFileSync(token.pinFile, `${PIN}\n`);
      }
      assert.deepEqual(await snapshot(), before);
    });

    it('no PIN at all (ERR_PKCS11_PIN)', () => {
      assert.throws(
        () => loadKey(store, { type: 'pkcs11', uri: `pkcs11:token=${LABEL};object=root` }, undefined),
        (e: unknown) => oneLine('ERR_PKCS11_PIN')(e) && /CUSTODY_PKCS11_PIN/.test((e as Error).message),
      );
    });

    it('a PIN file that group or others may read or write is refused before any login (ERR_PKCS11_PIN_FILE_MODE)', async () => {
      const before = await snapshot();
      const pinFile = join(token.dir, 'open-pin');
      const uri = `pkcs11:token=${LABEL};object=root?pin-source=file:${pinFile}`;
      writeFileSync(pinFile, `${PIN}\n`, { mode: 0o600 });
      for (const mode of [0o640, 0o604, 0o620, 0o602, 0o610]) {
        chmodSync(pinFile, mode);
        assert.throws(
          () => openTokenKey(uri, { readFile: (f) => readFileSync(f) }),
          (e: unknown) => oneLine('ERR_PKCS11_PIN_FILE_MODE')(e) && (e as Error).message.includes(`mode ${mode.toString(8).padStart(4, '0')}`),
        );
      }
      // The same file, the right PIN, owner-only: the key opens.
      chmodSync(pinFile, 0o600);
      assert.equal(openTokenKey(uri, { readFile: (f) => readFileSync(f) }).curve, 'P-256');
      closeTokenSessions();
      chmodSync(pinFile, 0o400);
      assert.equal(openTokenKey(uri, { readFile: (f) => readFileSync(f) }).curve, 'P-256');
      assert.deepEqual(await snapshot(), before);
    });

    it('a missing object (ERR_PKCS11_OBJECT)', async () => {
      const before = await snapshot();
      assert.throws(() => loadKey(store, { type: 'pkcs11', uri: keyURI('no-such-key') }, undefined), oneLine('ERR_PKCS11_OBJECT'));
      assert.throws(
        () => loadKey(store, { type: 'pkcs11', uri: `pkcs11:token=${LABEL};id=%DE%AD?pin-source=file:${token.pinFile}` }, undefined),
        oneLine('ERR_PKCS11_OBJECT'),
      );
      assert.deepEqual(await snapshot(), before);
    });

    it('a missing token (ERR_PKCS11_TOKEN)', () => {
      assert.throws(
        () => loadKey(store, { type: 'pkcs11', uri: `pkcs11:token=elsewhere;object=root?pin-source=file:${token.pinFile}` }, undefined),
        oneLine('ERR_PKCS11_TOKEN'),
      );
    });

    it('a missing module, no module, a file that is not a module (ERR_PKCS11_MODULE)', () => {
      const uri = keyURI('root');
      assert.throws(() => loadKey(store, { type: 'pkcs11', uri: `${uri}&module-path=/nonexistent/libpkcs11.so` }, undefined), oneLine('ERR_PKCS11_MODULE'));
      assert.throws(() => loadKey(store, { type: 'pkcs11', uri: `${uri}&module-path=${token.pinFile}` }, undefined), oneLine('ERR_PKCS11_MODULE'));
      delete process.env.CUSTODY_PKCS11_MODULE;
      try {
        assert.throws(() => loadKey(store, { type: 'pkcs11', uri }, undefined), oneLine('ERR_PKCS11_MODULE'));
      } finally {
        process.env.CUSTODY_PKCS11_MODULE = token.module;
      }
    });

    it('a malformed URI or a pin-value in a stored reference (ERR_PKCS11_URI)', () => {
      assert.throws(() => loadKey(store, { type: 'pkcs11', uri: `pkcs11:token=${LABEL};object=root?pin-value=${PIN}` }, undefined), oneLine('ERR_PKCS11_URI'));
      assert.throws(
        () => loadKey(store, { type: 'pkcs11', uri: `pkcs11:token=${LABEL}?pin-source=file:${token.pinFile}` }, undefined),
        oneLine('ERR_PKCS11_URI'),
      );
      assert.throws(() => loadKey(store, { type: 'pkcs11', uri: `pkcs11:token=${LABEL};object=root;type=cert` }, undefined), oneLine('ERR_PKCS11_URI'));
    });

    it('a key generated under a label already taken (ERR_CONFLICT_PKCS11_OBJECT)', async () => {
      const before = await snapshot();
      assert.throws(() => generateTokenKey(keyURI('root'), { curve: 'P-256', readFile: (f) => readFileSync(f) }), oneLine('ERR_CONFLICT_PKCS11_OBJECT'));
      assert.deepEqual(await snapshot(), before);
    });
  });
});
