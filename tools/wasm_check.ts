/**
 * Structural checks on a built kernel module: several instances must be able to share one memory, so
 * the module may have no globals, no start function, no data segments, and no import but `env.memory`.
 * @module
 */

function readU32(bytes: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[pos++];
    result |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result >>> 0, pos];
    shift += 7;
  }
}

function readName(bytes: Uint8Array, pos: number): [string, number] {
  const [len, p] = readU32(bytes, pos);
  return [new TextDecoder().decode(bytes.subarray(p, p + len)), p + len];
}

/** Throws naming the variant and the offending section when the module breaks a rule above. */
export function checkKernelModule(bytes: Uint8Array, variant: string): void {
  const fail = (why: string): never => {
    throw new Error(`Cannot accept kernel module '${variant}': ${why}`);
  };
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos++];
    const [size, start] = readU32(bytes, pos);
    const end = start + size;
    if (id === 2) {
      const [count, p0] = readU32(bytes, start);
      let p = p0;
      for (let i = 0; i < count; i++) {
        const [mod, p1] = readName(bytes, p);
        const [field, p2] = readName(bytes, p1);
        const kind = bytes[p2];
        if (mod !== "env" || field !== "memory" || kind !== 2) {
          fail(`it imports ${mod}.${field} (kind ${kind}); only env.memory is allowed`);
        }
        p = end; // memory is the only import; nothing further to parse
      }
    } else if (id === 6) {
      const [count] = readU32(bytes, start);
      if (count > 0) fail(`it has ${count} global(s); kernels must be stateless`);
    } else if (id === 8) {
      fail("it has a start function");
    } else if (id === 11) {
      const [count] = readU32(bytes, start);
      if (count > 0) fail(`it has ${count} data segment(s); pass constants in as arguments`);
    } else if (id === 5) {
      fail("it defines its own memory; it must import env.memory");
    }
    pos = end;
  }
}
