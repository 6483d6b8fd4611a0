/**
 * The model zoo: every architecture of the seed, built by name.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * console.log(cnn.models.list());
 * ```
 * @module
 */
export {
  type AuxModel,
  type AuxOutputs,
  create,
  entry,
  hasAux,
  list,
  type ModelEntry,
  type ModelOptions,
  register,
} from "./registry.ts";
// Each family registers its entries here, one line each.
import { register } from "./registry.ts";
import { RESNETS } from "./resnet.ts";
register(RESNETS);
import { ALEXNETS } from "./alexnet.ts";
register(ALEXNETS);
import { VGGS } from "./vgg.ts";
register(VGGS);
import { OVERFEATS } from "./overfeat.ts";
register(OVERFEATS);
import { INCEPTION_V4S } from "./inception_v4.ts";
register(INCEPTION_V4S);
export { type Summary, summary, type SummaryRow } from "./summary.ts";
