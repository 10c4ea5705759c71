/** The `@custody/core/release` entry point: signed firmware releases, withdrawal lists and the device's update rules. */
export { RELEASE_PREDICATE_TYPE, MAX_RELEASE_MODELS, MAX_RELEASE_TEXT, checkReleaseText, createReleaseStatement, encodeReleaseStatement, parseReleaseStatement, validateReleaseStatement, type ReleasePredicate, type ReleaseStatement, type ReleaseStatementInput } from '../release/release-statement.js';
export { MAX_RELEASE_MANIFEST_BYTES, parseReleaseManifest, signReleaseManifest, verifyReleaseManifest, type ParsedRelease, type VerifiedRelease } from '../release/release-manifest.js';
export { MAX_SIGNER_CHAIN, createReleaseTrust, type ReleaseTrust } from '../release/code-signer.js';
export { MAX_WITHDRAWN, MAX_WITHDRAWALS_BYTES, WITHDRAWALS_TYPE, createWithdrawalList, encodeWithdrawalList, parseWithdrawalList, signWithdrawalList, validateWithdrawalList, verifyWithdrawalList, type VerifiedWithdrawals, type WithdrawalList, type WithdrawnRelease } from '../release/withdrawals.js';
export { checkImageLength, checkUpdate, type ImageFacts, type UpdateDecision, type UpdateInput } from '../release/device-rules.js';
export { INITIAL_UPDATE_STATE, MAX_UPDATE_STATE_BYTES, UPDATE_STATE_TYPE, checkUpdateState, encodeUpdateState, parseUpdateState, type UpdateState } from '../release/update-state.js';
