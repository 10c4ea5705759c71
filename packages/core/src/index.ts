export { CustodyError, isCustodyError, categoryOf, EXIT_CODES, type ErrorCategory } from './errors.js';
