/**
 * Parsers of the CLI's numeric options (commander's argParser): every number an operator types
 * has bounds, and a value outside them (or not a number: `Number('soon')` is NaN, and a NaN
 * deadline never passes) is a usage error naming the option and its bounds.
 */
import { UsageError } from './errors.js';

export interface Bounds {
  min: number;
  max: number;
}

export const wholeNumber =
  (flag: string, { min, max }: Bounds) =>
  (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max)
      throw new UsageError(`${flag} takes a whole number from ${min} to ${max} (not ${value})`);
    return n;
  };

export const seconds =
  (flag: string, { min, max }: Bounds) =>
  (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max)
      throw new UsageError(`${flag} takes a number of seconds from ${min} to ${max} (not ${value})`);
    return n;
  };
