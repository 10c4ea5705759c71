/**
 * Loaded by mocha before every test file (.mocharc.json): key files written by tests use a low PBKDF2 iteration
 * count through the test-only setting, since each derivation at the default (600,000) costs about half a second
 * and the suites create and load hundreds of keys. The CLI children of the end-to-end tests inherit it. The
 * default itself is tested in packages/store/test/keys.test.ts.
 */
process.env.CUSTODY_TEST_ONLY_KDF_ITERATIONS ??= '1000';
