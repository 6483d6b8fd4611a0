/**
 * Errors of the tensor tier. Messages read "Cannot <action>: <state>".
 * @module
 */
export { rangeError, typeError } from "../runtime/mod.ts";
