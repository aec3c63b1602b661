// Argument validation: wrong arguments throw TypeError/RangeError naming the argument.

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Rejects keys the callee does not know (a typo must not be silently ignored). */
export function checkKeys(name: string, obj: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) {
      throw new TypeError(`${name}: unknown option '${k}' (known: ${allowed.join(', ')})`);
    }
  }
}

export function oneOf<T extends string>(name: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !allowed.includes(v as T)) {
    throw new TypeError(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}; got ${describe(v)}`);
  }
  return v as T;
}

export function int(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`${name} must be a number; got ${describe(v)}`);
  if (!Number.isInteger(v)) throw new RangeError(`${name} must be an integer; got ${v}`);
  if (v < min || v > max) throw new RangeError(`${name} must be between ${min} and ${max}; got ${v}`);
  return v;
}

export function bool(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${name} must be a boolean; got ${describe(v)}`);
  return v;
}

export function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

/** A filter graph string option: a non-empty string of printable text. */
export function filterGraph(name: string, v: unknown): string {
  if (typeof v !== 'string' || !v.trim()) throw new TypeError(`${name} must be a libavfilter graph string such as 'hflip,eq=contrast=1.2'; got ${describe(v)}`);
  if (v.length > 65536) throw new RangeError(`${name} is longer than 65536 characters`);
  if (v.includes('\0')) throw new TypeError(`${name} must not contain NUL characters`);
  return v;
}
