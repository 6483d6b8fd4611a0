/**
 * The edge function for Deno (Deno Deploy or `deno serve`): `export default { fetch }`.
 * Run: `deno serve --allow-read=examples examples/edge/main.ts`, then
 * `curl -X POST --data-binary @digit.png -H 'content-type: image/png' http://127.0.0.1:8000/classify`.
 * @module
 */
import { createDigitClassifier } from "./classifier.ts";
import { createHandler } from "./handler.ts";

const handler: { fetch(req: Request): Promise<Response> } = createHandler({
  classifier: async () =>
    createDigitClassifier(await Deno.readFile(new URL("../web/weights.safetensors", import.meta.url))),
});
export default handler;
