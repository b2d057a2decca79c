/**
 * A minimal stand-in for `jsr:@std/assert`, built on `node:assert`.
 *
 * Where JSR (jsr.io) is unreachable, the import map points `@std/assert` here. Only the subset of
 * the std API that redraw uses is provided, with the same names and argument order. To use the real
 * module, change the import map entry to `"@std/assert": "jsr:@std/assert@^1"` (see README).
 * @module
 */
import nodeAssert from "node:assert";
import { isDeepStrictEqual } from "node:util";

/** Error thrown by every assertion here (the std name). */
export class AssertionError extends Error {
  /** @param message what failed */
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

function fail(msg: string | undefined, fallback: string): never {
  throw new AssertionError(msg ?? fallback);
}

/** Asserts that `expr` is truthy. */
export function assert(expr: unknown, msg?: string): asserts expr {
  if (!expr) fail(msg, "Expected expression to be truthy");
}

/** Throws an {@linkcode AssertionError} unconditionally. */
export function unreachable(msg?: string): never {
  fail(msg, "Unreachable code was reached");
}

/** Deep structural equality (NaN equals NaN, like std). */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  try {
    nodeAssert.deepStrictEqual(actual, expected);
  } catch (e) {
    fail(msg ? `${msg}\n${(e as Error).message}` : undefined, (e as Error).message);
  }
}

/** Asserts that `actual` and `expected` are not deeply equal. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  try {
    nodeAssert.notDeepStrictEqual(actual, expected);
  } catch (e) {
    fail(msg, (e as Error).message);
  }
}

/** `Object.is` equality. */
export function assertStrictEquals<T>(actual: unknown, expected: T, msg?: string): asserts actual is T {
  if (!Object.is(actual, expected)) {
    fail(msg, `Values are not strictly equal: actual ${String(actual)}, expected ${String(expected)}`);
  }
}

/**
 * Asserts |actual - expected| <= tolerance. The default tolerance is 1e-7 relative to |expected|
 * (std's default), with an absolute floor of 1e-7 for expected values near zero.
 */
export function assertAlmostEquals(actual: number, expected: number, tolerance?: number, msg?: string): void {
  if (Object.is(actual, expected)) return;
  const tol = tolerance ?? Math.max(Math.abs(expected) * 1e-7, 1e-7);
  const delta = Math.abs(expected - actual);
  if (!(delta <= tol)) {
    fail(
      msg,
      `Expected actual: "${actual}" to be close to "${expected}": delta "${delta}" is greater than "${tol}"`,
    );
  }
}

/** Asserts that `actual` is neither null nor undefined. */
export function assertExists<T>(actual: T, msg?: string): asserts actual is NonNullable<T> {
  if (actual === null || actual === undefined) {
    fail(msg, `Expected actual: "${actual}" to not be null or undefined`);
  }
}

/** Asserts `actual > expected`. */
export function assertGreater<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual > expected)) fail(msg, `Expect ${actual} > ${expected}`);
}

/** Asserts `actual >= expected`. */
export function assertGreaterOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual >= expected)) fail(msg, `Expect ${actual} >= ${expected}`);
}

/** Asserts `actual < expected`. */
export function assertLess<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual < expected)) fail(msg, `Expect ${actual} < ${expected}`);
}

/** Asserts `actual <= expected`. */
export function assertLessOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual <= expected)) fail(msg, `Expect ${actual} <= ${expected}`);
}

/** Asserts that `actual` matches the regular expression. */
export function assertMatch(actual: string, expected: RegExp, msg?: string): void {
  if (!expected.test(actual)) fail(msg, `Expected actual: "${actual}" to match: "${expected}"`);
}

/** Asserts that `actual` contains `expected`. */
export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  if (!actual.includes(expected)) fail(msg, `Expected actual: "${actual}" to contain: "${expected}"`);
}

/** Asserts that every element of `expected` is deeply equal to some element of `actual`. */
export function assertArrayIncludes<T>(actual: ArrayLike<T>, expected: ArrayLike<T>, msg?: string): void {
  const arr = Array.from(actual);
  for (const e of Array.from(expected)) {
    if (!arr.some((a) => isDeepStrictEqual(a, e))) {
      fail(msg, `Expected actual to include ${JSON.stringify(e)}`);
    }
  }
}

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

function checkError<E extends Error>(
  e: unknown,
  ErrorClass?: ErrorClass<E>,
  msgIncludes?: string,
  msg?: string,
): E {
  if (ErrorClass && !(e instanceof ErrorClass)) {
    fail(msg, `Expected error to be instance of "${ErrorClass.name}", but was "${(e as Error)?.name}": ${e}`);
  }
  if (msgIncludes !== undefined && !String((e as Error)?.message).includes(msgIncludes)) {
    fail(msg, `Expected error message to include "${msgIncludes}", but got "${(e as Error)?.message}"`);
  }
  return e as E;
}

/** Asserts that `fn` throws; optionally of class `ErrorClass` with a message containing `msgIncludes`. */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  ErrorClass?: ErrorClass<E>,
  msgIncludes?: string,
  msg?: string,
): E {
  try {
    fn();
  } catch (e) {
    return checkError(e, ErrorClass, msgIncludes, msg);
  }
  fail(msg, "Expected function to throw.");
}

/** Async version of {@linkcode assertThrows}. */
export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  ErrorClass?: ErrorClass<E>,
  msgIncludes?: string,
  msg?: string,
): Promise<E> {
  try {
    await fn();
  } catch (e) {
    return checkError(e, ErrorClass, msgIncludes, msg);
  }
  fail(msg, "Expected function to reject.");
}
