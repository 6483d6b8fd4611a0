/**
 * Checks the one-way import rule between tiers (assembly <- runtime <- tensor <- layers <- models), by
 * reading each module's static imports. Exits non-zero naming every import that breaks it.
 * Run: `deno run --allow-read=. tools/check_layers.ts`.
 * @module
 */

/** For each tier (top-level folder), the tiers it may import. Unlisted folders import freely. */
const ALLOWED: Record<string, string[]> = {
  runtime: ["runtime"],
  tensor: ["tensor", "runtime"],
  layers: ["layers", "tensor", "runtime"],
  optim: ["optim", "tensor", "runtime"],
  models: ["models", "layers", "tensor"],
  data: ["data", "tensor", "runtime"],
  io: ["io", "tensor", "layers", "runtime"],
  train: ["train", "layers", "tensor", "data", "io", "runtime", "models", "optim"],
};

const IMPORT_RE = /(?:import|export)\s[^"';]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

async function* walk(dir: URL): AsyncGenerator<URL> {
  for await (const e of Deno.readDir(dir)) {
    const u = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
    if (e.isDirectory) yield* walk(u);
    else if (e.name.endsWith(".ts")) yield u;
  }
}

/** Returns the violations below `root` as readable lines. */
export async function findViolations(root: URL): Promise<string[]> {
  const bad: string[] = [];
  for (const tier of Object.keys(ALLOWED)) {
    const dir = new URL(`${tier}/`, root);
    try {
      await Deno.stat(dir);
    } catch {
      continue;
    }
    for await (const file of walk(dir)) {
      // Examples in doc comments may import anything: strip comments first.
      const text = (await Deno.readTextFile(file)).replace(/\/\*[\s\S]*?\*\//g, "").replace(
        /^\s*\/\/.*$/gm,
        "",
      );
      for (const m of text.matchAll(IMPORT_RE)) {
        const spec = m[1] ?? m[2];
        if (!spec.startsWith(".")) continue;
        const target = new URL(spec, file).pathname.slice(root.pathname.length);
        const targetTier = target.split("/")[0];
        const rel = file.pathname.slice(root.pathname.length);
        if (!ALLOWED[tier].includes(targetTier)) {
          bad.push(`${rel}: imports ${target} (${tier} may not import ${targetTier})`);
        }
      }
    }
  }
  return bad;
}

if (import.meta.main) {
  const bad = await findViolations(new URL("../", import.meta.url));
  if (bad.length > 0) {
    console.error(`Cannot accept imports: ${bad.length} break the tier order\n` + bad.join("\n"));
    Deno.exit(1);
  }
  console.log("tier imports: ok");
}
