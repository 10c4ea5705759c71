/** `devices challenge` (verifier side) and `agent respond` (the reference device side). */
import { CustodyError, createChallenge, derOrPEM, parseCSR, readCertificateInfo, respondToChallenge, toHex, type Challenge } from '@custody/core';
import type { Store } from '@custody/store';
import { provider, readInputFile } from './context.js';
import { openDeviceKey } from './agent.js';
import { produceOutput, writeOutputFile } from './outputs.js';

/**
 * Writes a single-use challenge for a device (from the store, or by its certificate file) and remembers it; the
 * output is checked before the challenge is recorded.
 * @throws ERR_DEVICE_UNKNOWN, ERR_CERT_PARSE, ERR_USAGE_SELECTION, ERR_IO_NO_FOLDER, ERR_IO_EXISTS (unless `force`),
 * ERR_IO_WRITE
 */
export async function writeChallenge(
  store: Store,
  o: { serial?: string; cert?: string; out: string; force?: boolean; ttlSeconds: number; now: Date },
): Promise<Challenge> {
  let certificate: Uint8Array;
  let serial: string;
  if (o.cert) {
    try {
      certificate = derOrPEM(readInputFile(o.cert, 'certificate'), ['CERTIFICATE']);
      const info = readCertificateInfo(certificate);
      serial = info.subjectAttributes.find(([k]) => k === 'serialNumber')?.[1] ?? info.serialHex;
    } catch (e) {
      throw e instanceof CustodyError ? e.withFile(o.cert) : e;
    }
  } else if (o.serial) {
    const device = await store.getDevice(o.serial);
    if (!device) throw new CustodyError('ERR_DEVICE_UNKNOWN', `device ${o.serial} is not in ${store.location} (import its bundle, or give --cert)`);
    certificate = device.certificate;
    serial = o.serial;
  } else throw new CustodyError('ERR_USAGE_SELECTION', 'name the device: --serial or --cert');
  const nonce = provider.randomBytes(32);
  const { bytes, challenge } = createChallenge({
    device: serial,
    idevidSha256: toHex(await provider.digest('SHA-256', certificate)),
    nonce,
    now: o.now,
    ttlSeconds: o.ttlSeconds,
  });
  await produceOutput(
    o.out,
    { force: o.force },
    () => store.recordChallenge(toHex(nonce), bytes),
    () => bytes,
  );
  return challenge;
}

/**
 * Answers a challenge with the device key (a PEM PKCS#8 file, encrypted or not, or a `pkcs11:` URI of a key in a
 * token such as the device's TPM), signing the hash of the LDevID request
 * `ldevidCsr` with it when given.
 * @throws ERR_KEY_PASSPHRASE, ERR_KEY_PARSE, ERR_PKCS11_*, ERR_CHALLENGE_MALFORMED, ERR_CSR_PARSE (naming the file), ERR_IO_NO_FOLDER,
 * ERR_IO_EXISTS (unless `force`), ERR_IO_WRITE
 */
export async function answerChallenge(o: {
  key: string;
  challenge: string;
  out: string;
  force?: boolean;
  passphrase: string | undefined;
  ldevidCsr?: string;
}): Promise<void> {
  const key = openDeviceKey(o.key, o.passphrase);
  // The LDevID request the device sends with this activation: its DER's hash is signed with the challenge.
  let csr: Uint8Array | undefined;
  if (o.ldevidCsr !== undefined) {
    try {
      csr = derOrPEM(readInputFile(o.ldevidCsr, 'csr'), ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);
      parseCSR(csr);
    } catch (e) {
      throw e instanceof CustodyError ? e.withFile(o.ldevidCsr) : e;
    }
  }
  let response: Uint8Array;
  try {
    response = await respondToChallenge(new Uint8Array(readInputFile(o.challenge, 'challenge')), key, provider, csr);
  } catch (e) {
    throw e instanceof CustodyError ? e.withFile(o.challenge) : e;
  }
  writeOutputFile(o.out, response, { force: o.force });
}
