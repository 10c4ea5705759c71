/** The `@custody/core/code-policy` entry point: code policies, the activation's `codeValidation` claim, and the device's check. */
export { CODE_ARTIFACT_TYPES, CODE_LEVELS, CODE_POLICY_LIMITS, parseCodePolicy, type CodeArtifactType, type CodeIdentityRef, type CodeLevel, type CodePolicy, type CodeScope } from '../code-policy/code-policy.js';
export { createCodeValidationClaim, parseCodeValidationClaim, type EnrolledCodePolicy, type EnrolledIdentity, type EnrolledScope } from '../code-policy/code-validation-claim.js';
export { CodeChecker, type CodeDecision, type CodePolicyCode, type CodeToCheck } from '../code-policy/code-checker.js';
export { PATH_PATTERN_LIMITS, compilePathPattern, matchPathPattern, pathPatternProblem, type PathPattern } from '../code-policy/path-pattern.js';
export { ENROLLMENT_VERSION, checkManufacturerAnchor, decideEnrollment, parseEnrollmentRecord, type EnrollmentDecision, type EnrollmentRecord } from '../code-policy/enrollment.js';
