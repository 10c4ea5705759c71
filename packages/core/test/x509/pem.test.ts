/** The one PEM reader: linear, strict inside blocks, bounded error messages. */
import assert from 'node:assert/strict';
import { decodePEM, decodePEMAll, derOrPEM, encodePEM, parsePEM, QUOTE_MAX, readPEMBlocks } from '../../src/x509/pem.js';

const der = Uint8Array.from({ length: 200 }, (_, i) => (i * 7) & 0xff);
const block = encodePEM(der, 'CERTIFICATE');

describe('PEM reader', () => {
  it('round-trips encodePEM, with explanatory text, CRLF and trailing blanks', () => {
    assert.deepEqual(parsePEM(`subject=CN=x\n${block}`, 'CERTIFICATE'), [der]);
    assert.deepEqual(parsePEM(block.replace(/\n/g, '\r\n'), 'CERTIFICATE'), [der]);
    assert.deepEqual(parsePEM(block.replace(/\n/g, ' \t\n'), 'CERTIFICATE'), [der]);
    assert.deepEqual(decodePEMAll(block + encodePEM(Uint8Array.of(1), 'X509 CRL') + block, ['CERTIFICATE']), [der, der]);
    assert.deepEqual(derOrPEM(new TextEncoder().encode(block), ['CERTIFICATE']), der);
    assert.deepEqual(parsePEM('no blocks at all', 'CERTIFICATE'), []);
  });

  it('reads a 4 MB file of repeated BEGIN CERTIFICATE REQUEST lines in linear time (was 108 s)', () => {
    const line = '-----BEGIN CERTIFICATE REQUEST-----\n';
    const text = line.repeat(Math.ceil((4 * 1024 * 1024) / line.length));
    const t0 = performance.now();
    assert.throws(() => readPEMBlocks(text, ['CERTIFICATE REQUEST']), { code: 'ERR_PEM', message: /line 2: BEGIN line inside the CERTIFICATE REQUEST block/ });
    const unclosed = `${'x'.repeat(100)}\n`.repeat(40_000);
    assert.throws(() => decodePEM(`-----BEGIN CERTIFICATE-----\n${unclosed}`, ['CERTIFICATE']), { code: 'ERR_PEM' });
    assert.throws(() => decodePEM(`-----BEGIN X-----\n${'A'.repeat(4 * 1024 * 1024)}`, ['CERTIFICATE']), { code: 'ERR_PEM', message: /no END line/ });
    assert.ok(performance.now() - t0 < 2000, `${performance.now() - t0} ms`);
  });

  it('refuses an empty line inside a block (the two readers disagreed)', () => {
    const withEmpty = block.replace(/\n(?=[^\n]*\n-----END)/, '\n\n');
    assert.throws(() => parsePEM(withEmpty, 'CERTIFICATE'), { code: 'ERR_PEM', message: /empty line inside the CERTIFICATE block/ });
    assert.throws(() => decodePEM(withEmpty, ['CERTIFICATE']), { code: 'ERR_PEM', message: /empty line/ });
    assert.throws(() => parsePEM('-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n', 'CERTIFICATE'), { code: 'ERR_PEM' });
  });

  it('refuses damaged blocks with ERR_PEM naming the line', () => {
    const cases: Array<[string, RegExp]> = [
      [block.replace('END CERTIFICATE', 'END X509 CRL'), /closed by END X509 CRL/],
      [block.replace(/-----END CERTIFICATE-----\n$/, ''), /no END line/],
      ['-----END CERTIFICATE-----\n', /END CERTIFICATE without a BEGIN/],
      [block.replace(/\n(.)/, '\n*$1'), /line 2: not base64/],
      [block.replace(/\n(.)/, '\nProc-Type: 4,ENCRYPTED\n$1'), /not base64/],
      ['-----BEGIN CERTIFICATE-----\nAAF=\n-----END CERTIFICATE-----\n', /not canonical base64/],
      ['-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n', /not canonical base64/],
      ['-----BEGIN certificate--\n', /malformed BEGIN line/],
      ['-----BEGIN A--B-----\n', /malformed BEGIN line/],
    ];
    for (const [text, message] of cases) assert.throws(() => parsePEM(text, 'CERTIFICATE'), { code: 'ERR_PEM', message }, text.slice(0, 60));
    assert.throws(() => decodePEM('nothing', ['CERTIFICATE']), { code: 'ERR_PEM', message: /no CERTIFICATE PEM block/ });
    assert.throws(() => decodePEM(block + block, ['CERTIFICATE']), { code: 'ERR_PEM', message: /found 2/ });
  });

  it(`quotes at most ${QUOTE_MAX} characters of an offending line`, () => {
    const long = `-----BEGIN CERTIFICATE-----\n${'*'.repeat(1_000_000)}\n-----END CERTIFICATE-----\n`;
    assert.throws(
      () => parsePEM(long, 'CERTIFICATE'),
      (e: Error & { code?: string }) => e.code === 'ERR_PEM' && e.message.length < 120,
    );
    const longBegin = `-----BEGIN ${'A'.repeat(100_000)}-----\n`;
    assert.throws(
      () => parsePEM(longBegin, 'CERTIFICATE'),
      (e: Error & { code?: string }) => e.code === 'ERR_PEM' && e.message.length < 120,
    );
  });

  it('skips blocks with other labels unread, but they must close', () => {
    const key = '-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nabc\n-----END EC PRIVATE KEY-----\n';
    assert.deepEqual(parsePEM(key + block, 'CERTIFICATE'), [der]);
    assert.throws(() => parsePEM('-----BEGIN EC PRIVATE KEY-----\nabc\n' + block, 'CERTIFICATE'), { code: 'ERR_PEM', message: /BEGIN line inside/ });
  });
});
