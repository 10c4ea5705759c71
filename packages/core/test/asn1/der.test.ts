/** The strict DER reader: limits checked before the work, malformed input refused with ERR_DER. */
import assert from 'node:assert/strict';
import { checkDER, children, MAX_CHILDREN, MAX_DEPTH, readOID, readOne, readTime, TAG, tlv } from '../../src/asn1/der.js';
import { parseCertificate } from '../../src/validation/certificate.js';
import { parseCSR } from '../../src/x509/csr.js';

const timeOf = (tag: number, s: string) => readOne(tlv(tag, new TextEncoder().encode(s)));

function nested(depth: number): Uint8Array {
  let v: Uint8Array = Uint8Array.of(0x05, 0x00);
  for (let i = 0; i < depth; i++) v = tlv(TAG.SEQUENCE, v);
  return v;
}

describe('DER reader', () => {
  it('refuses a 100 MB declared length over 100 MB of zeros at once (heap exhaustion in certs inspect / provision --csr)', () => {
    const big = new Uint8Array(6 + 0x06400000);
    big.set([0x30, 0x84, 0x06, 0x40, 0x00, 0x00]);
    const t0 = performance.now();
    assert.throws(() => parseCertificate(big), { code: 'ERR_CERT_PARSE' });
    assert.throws(() => parseCSR(big), { code: 'ERR_CSR_PARSE' });
    assert.throws(() => children(readOne(big).value), { code: 'ERR_DER' });
    assert.ok(performance.now() - t0 < 1000);
  });

  it('refuses a declared length longer than the input before reading it', () => {
    assert.throws(() => readOne(Uint8Array.of(0x30, 0x84, 0x06, 0x40, 0x00, 0x00)), { code: 'ERR_DER', message: /truncated value/ });
  });

  it('refuses indefinite, non-minimal and over-long lengths, multi-byte tags and tag 0', () => {
    for (const b of [
      [0x30, 0x80, 0, 0],
      [0x04, 0x81, 0x01, 0],
      [0x04, 0x85, 0, 0, 0, 0, 1, 0],
      [0x1f, 0x81, 0x01, 0x00],
      [0x00, 0x00],
    ]) {
      assert.throws(() => readOne(Uint8Array.from(b)), { code: 'ERR_DER' }, Buffer.from(b).toString('hex'));
    }
  });

  it(`stops children() at ${MAX_CHILDREN} elements unless the caller allows more`, () => {
    const many = new Uint8Array(2 * (MAX_CHILDREN + 1)).fill(0).map((_, i) => (i % 2 === 0 ? 0x05 : 0));
    assert.throws(() => children(many), { code: 'ERR_DER', message: /more than 1024/ });
    assert.equal(children(many, MAX_CHILDREN + 1).length, MAX_CHILDREN + 1);
  });

  it(`checkDER walks ${MAX_DEPTH} levels without recursion and refuses one more`, () => {
    checkDER(nested(MAX_DEPTH));
    assert.throws(() => checkDER(nested(MAX_DEPTH + 1)), { code: 'ERR_DER', message: /nesting/ });
    assert.throws(() => checkDER(nested(5_000)), { code: 'ERR_DER' });
  });

  it('reads a 120 KB time value without overflowing the stack (Maximum call stack size exceeded)', () => {
    const huge = tlv(TAG.GENERALIZED_TIME, new Uint8Array(120 * 1024).fill(0x31));
    assert.throws(() => readTime(readOne(huge)), { code: 'ERR_DER', message: /bad GeneralizedTime "1{20}\.\.\."/ });
  });

  it('refuses GeneralizedTime year 0000 and impossible dates, reads the strict forms', () => {
    assert.throws(() => readTime(timeOf(TAG.GENERALIZED_TIME, '00000101000000Z')), { code: 'ERR_DER', message: /0000/ });
    for (const [tag, s] of [
      [TAG.UTC_TIME, '260230000000Z'],
      [TAG.UTC_TIME, '2601010000Z'],
      [TAG.UTC_TIME, '260101000000+0100'],
      [TAG.GENERALIZED_TIME, '20260101000000.5Z'],
      [TAG.GENERALIZED_TIME, '20261301000000Z'],
      [TAG.UTC_TIME, '26010124000' + '0Z'],
    ] as const) {
      assert.throws(() => readTime(timeOf(tag, s)), { code: 'ERR_DER' }, s);
    }
    assert.equal(readTime(timeOf(TAG.UTC_TIME, '491231235959Z')).toISOString(), '2049-12-31T23:59:59.000Z');
    assert.equal(readTime(timeOf(TAG.UTC_TIME, '500101000000Z')).toISOString(), '1950-01-01T00:00:00.000Z');
    assert.equal(readTime(timeOf(TAG.GENERALIZED_TIME, '99991231235959Z')).toISOString(), '9999-12-31T23:59:59.000Z');
    assert.equal(readTime(timeOf(TAG.GENERALIZED_TIME, '00040229000000Z')).getUTCFullYear(), 4);
  });

  it('refuses truncated, empty and non-minimal OIDs', () => {
    assert.throws(() => readOID(readOne(Uint8Array.of(0x06, 0x02, 0x2a, 0x86))), { code: 'ERR_DER', message: /truncated OID/ });
    assert.throws(() => readOID(readOne(Uint8Array.of(0x06, 0x00))), { code: 'ERR_DER' });
    assert.throws(() => readOID(readOne(Uint8Array.of(0x06, 0x02, 0x80, 0x01))), { code: 'ERR_DER' });
    assert.equal(readOID(readOne(Uint8Array.of(0x06, 0x03, 0x55, 0x1d, 0x13))), '2.5.29.19');
  });
});
