/**
 * Error helpers shared by every tier. Messages read "Cannot <action>: <state>".
 * @module
 */

/** Builds a `RangeError` whose message reads `Cannot <action>: <state>`. */
export function rangeError(action: string, state: string): RangeError {
  return new RangeError(`Cannot ${action}: ${state}`);
}

/** Builds a `TypeError` whose message reads `Cannot <action>: <state>`. */
export function typeError(action: string, state: string): TypeError {
  return new TypeError(`Cannot ${action}: ${state}`);
}
