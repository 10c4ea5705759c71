import assert from 'node:assert/strict';
import { encodePKCS11URI, isPKCS11URI, parsePKCS11URI, PKCS11_URI_MAX_LENGTH } from '../../src/keys/pkcs11-uri.js';
import { CustodyError } from '../../src/errors.js';

const bytes = (...b: number[]) => Uint8Array.from(b);

function refused(text: string, message?: RegExp, options = {}): void {
  assert.throws(
    () => parsePKCS11URI(text, options),
    (e: unknown) => {
      assert.ok(e instanceof CustodyError, `not a CustodyError: ${String(e)}`);
      assert.equal(e.code, 'ERR_PKCS11_URI');
      assert.equal(e.category, 'input');
      assert.ok(!e.message.includes('\n'), 'one line');
      if (message) assert.match(e.message, message);
      return true;
    },
  );
}

describe('PKCS#11 URIs (RFC 7512)', () => {
  describe('the examples of RFC 7512 section 3.3', () => {
    it('pkcs11: (any token, any object)', () => {
      assert.deepEqual(parsePKCS11URI('pkcs11:'), { vendor: [] });
    });

    it('an object and its type', () => {
      const u = parsePKCS11URI('pkcs11:object=my-pubkey;type=public');
      assert.equal(u.object, 'my-pubkey');
      assert.equal(u.type, 'public');
    });

    it('a pin-source file', () => {
      const u = parsePKCS11URI('pkcs11:object=my-key;type=private?pin-source=file:/etc/token');
      assert.equal(u.pinFile, '/etc/token');
    });

    it('the long example: escapes, id bytes, an empty serial, a query', () => {
      const u = parsePKCS11URI(
        'pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=?pin-source=file:/etc/token_pin',
      );
      assert.equal(u.token, 'The Software PKCS#11 Softtoken');
      assert.equal(u.manufacturer, 'Snake Oil, Inc.');
      assert.equal(u.model, '1.0');
      assert.equal(u.object, 'my-certificate');
      assert.equal(u.type, 'cert');
      assert.deepEqual(u.id, bytes(0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91));
      assert.equal(u.serial, '');
      assert.equal(u.pinFile, '/etc/token_pin');
    });

    it('module-name and module-path', () => {
      assert.equal(parsePKCS11URI('pkcs11:object=my-sign-key;type=private?module-name=mypkcs11').moduleName, 'mypkcs11');
      assert.equal(parsePKCS11URI('pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1').modulePath, '/mnt/libmypkcs11.so.1');
    });

    it('pin-value only when the caller allows it', () => {
      const text = 'pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?pin-value=the-pin';
      refused(text, /pin-value/);
      assert.throws(
        () => parsePKCS11URI(text),
        (e: Error) => !e.message.includes('the-pin'),
      );
      const u = parsePKCS11URI(text, { allowPinValue: true });
      assert.equal(u.pinValue, 'the-pin');
      assert.equal(u.token, 'Software PKCS#11 softtoken');
    });

    it('slot and library attributes', () => {
      assert.equal(parsePKCS11URI('pkcs11:slot-description=Sun%20Metaslot').slotDescription, 'Sun Metaslot');
      const u = parsePKCS11URI('pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-description=Soft%20Token%20Library;library-version=1.23');
      assert.equal(u.libraryManufacturer, 'Snake Oil, Inc.');
      assert.equal(u.libraryDescription, 'Soft Token Library');
      assert.deepEqual(u.libraryVersion, { major: 1, minor: 23 });
    });

    it('an escaped percent sign and mixed-case hex digits in id', () => {
      const u = parsePKCS11URI('pkcs11:token=My%20token%25%20created%20by%20Joe;library-version=3;id=%01%02%03%Ba%dd%Ca%fe%04%05%06');
      assert.equal(u.token, 'My token% created by Joe');
      assert.deepEqual(u.libraryVersion, { major: 3, minor: 0 });
      assert.deepEqual(u.id, bytes(1, 2, 3, 0xba, 0xdd, 0xca, 0xfe, 4, 5, 6));
    });

    it('an escaped semicolon stays in the value', () => {
      assert.equal(parsePKCS11URI('pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert').token, 'A name with a substring %;');
    });

    it('UTF-8 text', () => {
      assert.equal(
        parsePKCS11URI('pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=my-certificate;type=cert').token,
        'Name with a small A with acute: \u00e1',
      );
    });

    it('vendor attributes are kept, with their component', () => {
      const u = parsePKCS11URI('pkcs11:token=my-token;object=my-certificate;type=cert;vendor-aaa=value-a?pin-source=file:/etc/token_pin&vendor-bbb=value-b');
      assert.deepEqual(u.vendor, [
        { name: 'vendor-aaa', value: 'value-a', component: 'path' },
        { name: 'vendor-bbb', value: 'value-b', component: 'query' },
      ]);
    });
  });

  describe('URIs as p11tool --list-all prints them (SoftHSM 2.6)', () => {
    it('a private key', () => {
      const u = parsePKCS11URI(
        'pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=3960dee77aeafcec;token=factory%20line;id=%0A%1B;object=acme%20issuing;type=private',
      );
      assert.equal(u.model, 'SoftHSM v2');
      assert.equal(u.manufacturer, 'SoftHSM project');
      assert.equal(u.serial, '3960dee77aeafcec');
      assert.equal(u.token, 'factory line');
      assert.deepEqual(u.id, bytes(0x0a, 0x1b));
      assert.equal(u.object, 'acme issuing');
      assert.equal(u.type, 'private');
    });

    it('a token', () => {
      const u = parsePKCS11URI('pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=3960dee77aeafcec;token=factory%20line');
      assert.equal(u.token, 'factory line');
      assert.equal(u.object, undefined);
    });
  });

  describe('strictness', () => {
    it('refuses another scheme or none', () => {
      refused('https://example.com/', /pkcs11:/);
      refused('token=x');
      refused('');
    });

    it('accepts the scheme in any case', () => {
      assert.equal(parsePKCS11URI('PKCS11:token=x').token, 'x');
      assert.equal(isPKCS11URI('PkCs11:'), true);
      assert.equal(isPKCS11URI('./keys/ca.key.pem'), false);
    });

    it('refuses characters the grammar wants encoded, and bad escapes', () => {
      refused('pkcs11:token=a b', /percent-encoded/);
      refused('pkcs11:token=a/b', /percent-encoded/);
      refused('pkcs11:token=a%2', /percent-encoded/);
      refused('pkcs11:token=a%zz', /percent-encoded/);
      refused('pkcs11:token=a\n');
      refused('pkcs11:?module-path=/a b');
      refused('pkcs11:token=a#b');
    });

    it('accepts what the grammar leaves unencoded: & in the path, / ? | in the query', () => {
      assert.equal(parsePKCS11URI('pkcs11:object=a&b').object, 'a&b');
      assert.equal(parsePKCS11URI('pkcs11:?module-path=/usr/lib/x?y|z').modulePath, '/usr/lib/x?y|z');
    });

    it('refuses a repeated attribute', () => {
      refused('pkcs11:token=a;token=a', /twice/);
      refused('pkcs11:?module-path=/a&module-path=/b', /twice/);
      assert.equal(parsePKCS11URI('pkcs11:?vendor-x=1&vendor-x=2').vendor.length, 2);
    });

    it('refuses unknown standard attributes, empty names and attributes without a value part', () => {
      refused('pkcs11:tokn=a', /unknown path attribute "tokn"/);
      refused('pkcs11:?pin=1234', /unknown query attribute "pin"/);
      refused('pkcs11:token', /name=value/);
      refused('pkcs11:=a', /name=value/);
      refused('pkcs11:token=a;', /name=value/);
      assert.deepEqual(parsePKCS11URI('pkcs11:?'), { vendor: [] });
    });

    it('refuses text that is not UTF-8', () => {
      refused('pkcs11:token=%C3', /UTF-8/);
      refused('pkcs11:object=%FF', /UTF-8/);
      refused('pkcs11:?module-path=/%ED%A0%80', /UTF-8/);
    });

    it('refuses bad numbers and types', () => {
      refused('pkcs11:slot-id=', /decimal/);
      refused('pkcs11:slot-id=-1', /decimal/);
      refused('pkcs11:slot-id=99999999999999999', /decimal/);
      refused('pkcs11:library-version=1.', /MAJOR/);
      refused('pkcs11:library-version=256', /255/);
      refused('pkcs11:type=secret', /type/);
      assert.equal(parsePKCS11URI('pkcs11:slot-id=5').slotId, 5);
    });

    it('pin-source: file: only, local files only', () => {
      refused('pkcs11:?pin-source=|/bin/pinentry', /file:/);
      refused('pkcs11:?pin-source=/etc/pin', /file:/);
      refused('pkcs11:?pin-source=http://example.com/pin', /file:/);
      refused('pkcs11:?pin-source=file://otherhost/pin', /local/);
      refused('pkcs11:?pin-source=file:', /no file/);
      refused('pkcs11:?pin-source=file:/a%00b', /NUL/);
      assert.equal(parsePKCS11URI('pkcs11:?pin-source=file:///etc/pin').pinFile, '/etc/pin');
      assert.equal(parsePKCS11URI('pkcs11:?pin-source=file://localhost/etc/pin').pinFile, '/etc/pin');
      assert.equal(parsePKCS11URI('pkcs11:?pin-source=file:pin.txt').pinFile, 'pin.txt');
      assert.equal(parsePKCS11URI('pkcs11:?pin-source=file:/a%20b').pinFile, '/a b');
    });

    it('refuses an empty module-name or module-path', () => {
      refused('pkcs11:?module-path=', /empty/);
      refused('pkcs11:?module-name=', /empty/);
    });

    it('refuses a URI longer than the bound before looking at it', () => {
      refused(`pkcs11:object=${'a'.repeat(PKCS11_URI_MAX_LENGTH)}`, /characters/);
    });

    it('is total: random and mutated inputs give a value or ERR_PKCS11_URI', () => {
      const seed = 'pkcs11:token=The%20Software;object=k;id=%01%02;type=private?pin-source=file:/p&module-path=/m.so';
      const alphabet = 'pkcs11:;?&=%/0123456789abcdefABCDEF \u00e1\u0000-._~';
      let x = 12345;
      const rnd = (n: number) => (x = (x * 1103515245 + 12345) & 0x7fffffff) % n;
      for (let i = 0; i < 3000; i++) {
        const chars = [...seed];
        for (let k = 0; k < 1 + rnd(4); k++) chars.splice(rnd(chars.length + 1), rnd(2), alphabet[rnd(alphabet.length)]!);
        const text = chars.join('');
        try {
          parsePKCS11URI(text, { allowPinValue: rnd(2) === 0 });
        } catch (e) {
          assert.ok(e instanceof CustodyError && e.code === 'ERR_PKCS11_URI', `${JSON.stringify(text)}: ${String(e)}`);
        }
      }
    });

    it('is a TypeError for a non-string (caller misuse)', () => {
      assert.throws(() => parsePKCS11URI(42 as unknown as string), TypeError);
    });
  });

  describe('encodePKCS11URI', () => {
    it('round-trips what it writes, escaping id bytes and reserved characters', () => {
      const uri = {
        token: 'factory line #1;a',
        manufacturer: 'SoftHSM project',
        serial: '3960dee77aeafcec',
        model: 'SoftHSM v2',
        object: 'acme issuing/2026 \u00e1',
        id: bytes(0, 0x0a, 0xff),
        type: 'private' as const,
        slotId: 7,
        libraryVersion: { major: 2, minor: 6 },
        pinFile: '/run/secrets/pin file',
        modulePath: '/usr/lib/softhsm/libsofthsm2.so',
        vendor: [],
      };
      const text = encodePKCS11URI(uri);
      assert.match(
        text,
        /^pkcs11:library-version=2\.6;slot-id=7;manufacturer=SoftHSM%20project;model=SoftHSM%20v2;serial=3960dee77aeafcec;token=factory%20line%20%231%3Ba;object=acme%20issuing%2F2026%20%C3%A1;id=%00%0A%FF;type=private\?pin-source=file:\/run\/secrets\/pin%20file&module-path=\/usr\/lib\/softhsm\/libsofthsm2\.so$/,
      );
      assert.deepEqual(parsePKCS11URI(text), uri);
    });

    it('never writes a pin-value', () => {
      const u = parsePKCS11URI('pkcs11:token=t?pin-value=1234', { allowPinValue: true });
      assert.equal(encodePKCS11URI(u), 'pkcs11:token=t');
    });
  });
});
