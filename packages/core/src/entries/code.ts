/** The `@custody/core/code` entry point: end-user code signatures (CMS code statements, IMA v2), named re-exports. */
export { CODE_NAME_MAX, CODE_PREDICATE_TYPE, CODE_STATEMENT_MAX, CODE_TYPES, CODE_VERSION_MAX, codeNameProblem, createCodeStatement, encodeCodeStatement, parseCodeStatement, validateCodeStatement, type CodePredicate, type CodeStatement, type CodeStatementInput, type CodeType } from '../code/code-statement.js';
export { CODE_SIGNATURE_MAX, parseCodeSignature, signCode, type CodeSignInput, type ParsedCodeSignature, type SignedCode } from '../code/code-signature.js';
export { codeSignerProblem, type CodeSignerProblem } from '../code/code-signer-profile.js';
export { createCodeVerifier, verifyCodeSignature, type CodeCheckInput, type CodeSignerIdentity, type CodeTrust, type CodeVerifier, type CodeVerifierOptions, type VerifiedCode } from '../code/code-verifier.js';
export { IMA_DIGSIG_VERSION_2, IMA_HASH_ALGO, IMA_HEADER_LENGTH, IMA_XATTR_DIGSIG, encodeImaSignature, imaKeyId, parseImaSignature, signImaFile, verifyImaSignature, type ImaSignature } from '../code/ima.js';
export { sha1 } from '../util/sha1.js';
