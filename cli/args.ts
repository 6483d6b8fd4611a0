/**
 * A small, strict flag parser for the CLI: every flag is declared with its type, default and help;
 * unknown flags and bad values are errors that name them.
 * @module
 */

/** One declared flag. */
export interface FlagSpec {
  type: "string" | "number" | "int" | "boolean";
  help: string;
  default?: string | number | boolean;
  /** Allowed values (strings only). */
  choices?: readonly string[];
  /** Lower bound (numbers). */
  min?: number;
}

/** Parsed flag values by name. */
export type Flags = Record<string, string | number | boolean | undefined>;

/** A usage error (bad flag or value); the CLI prints its message and the command's --help hint. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Parses `--name value`, `--name=value` and boolean `--name` / `--no-name` against `specs`. */
export function parseFlags(args: readonly string[], specs: Record<string, FlagSpec>): Flags {
  const out: Flags = {};
  for (const [k, s] of Object.entries(specs)) out[k] = s.default;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--")) throw new UsageError(`Cannot parse arguments: unexpected argument '${a}'`);
    let [name, value] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    let spec = specs[name];
    if (!spec && name.startsWith("no-") && specs[name.slice(3)]?.type === "boolean" && value === undefined) {
      name = name.slice(3);
      spec = specs[name];
      value = "false";
    }
    if (!spec) {
      const near = Object.keys(specs).find((k) => k.startsWith(name.slice(0, 3)));
      throw new UsageError(
        `Cannot parse arguments: unknown flag --${name}${near ? ` (did you mean --${near}?)` : ""}`,
      );
    }
    if (spec.type === "boolean") {
      if (value === undefined) value = "true";
      if (value !== "true" && value !== "false") {
        throw new UsageError(`Cannot parse arguments: --${name} takes true or false, got '${value}'`);
      }
      out[name] = value === "true";
      continue;
    }
    if (value === undefined) {
      value = args[++i];
      if (value === undefined) throw new UsageError(`Cannot parse arguments: --${name} needs a value`);
    }
    if (spec.type === "string") {
      if (spec.choices && !spec.choices.includes(value)) {
        throw new UsageError(
          `Cannot parse arguments: --${name} must be one of ${spec.choices.join(", ")}, got '${value}'`,
        );
      }
      out[name] = value;
    } else {
      const v = Number(value);
      if (value.trim() === "" || !Number.isFinite(v) || (spec.type === "int" && !Number.isInteger(v))) {
        throw new UsageError(
          `Cannot parse arguments: --${name} must be ${
            spec.type === "int" ? "an integer" : "a number"
          }, got '${value}'`,
        );
      }
      if (spec.min !== undefined && v < spec.min) {
        throw new UsageError(`Cannot parse arguments: --${name} must be >= ${spec.min}, got ${v}`);
      }
      out[name] = v;
    }
  }
  return out;
}

/** Renders the help text of a command. */
export function helpText(command: string, summary: string, specs: Record<string, FlagSpec>): string {
  const lines = [`Usage: deno task ${command} [flags]`, "", summary, "", "Flags:"];
  for (const [k, s] of Object.entries(specs)) {
    const def = s.default === undefined ? "" : ` (default: ${s.default})`;
    const ch = s.choices ? ` [${s.choices.join("|")}]` : "";
    lines.push(`  --${k.padEnd(16)} ${s.help}${ch}${def}`);
  }
  lines.push(`  --${"help".padEnd(16)} show this text`);
  return lines.join("\n");
}
