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
  type ModelResolver,
  register,
  registerResolver,
} from "./registry.ts";
// Each family registers its entries here, one line each.
import { register, registerResolver } from "./registry.ts";
import { RESNETS } from "./resnet.ts";
register(RESNETS);
import { PREACT_ENTRIES, resolveWrn } from "./preact_resnet.ts";
register(PREACT_ENTRIES);
registerResolver(resolveWrn);
import { DENSENET_ENTRIES, resolveDenseNet } from "./densenet.ts";
register(DENSENET_ENTRIES);
registerResolver(resolveDenseNet);
import { GOOGLENET_MODELS } from "./googlenet.ts";
import { BN_INCEPTION_MODELS } from "./bn_inception.ts";
import { INCEPTION_V3_MODELS } from "./inception_v3.ts";
register({ ...GOOGLENET_MODELS, ...BN_INCEPTION_MODELS, ...INCEPTION_V3_MODELS });
import { ALEXNETS } from "./alexnet.ts";
import { OVERFEATS } from "./overfeat.ts";
import { VGGS } from "./vgg.ts";
import { INCEPTION_V4S } from "./inception_v4.ts";
register({ ...ALEXNETS, ...OVERFEATS, ...VGGS, ...INCEPTION_V4S });
export { type Summary, summary, type SummaryRow } from "./summary.ts";
export { VGG } from "./vgg.ts";
export type { StochasticDepthOptions } from "./_stochastic_depth.ts";
export {
  type ActivationOrder,
  type IdentityMappingOptions,
  IdentityMappingResNet,
  identityMappingResNet,
  IdentityMappingUnit,
  ORDERS,
  type ShortcutKind,
  SHORTCUTS,
} from "./identity_mappings.ts";
export {
  type KernelBlockOptions,
  PreActKernelBlock,
  wrn,
  wrnConfig,
  type WrnOptions,
} from "./preact_resnet.ts";
export {
  ResNeXtBlock,
  ResNeXtBlockA,
  ResNeXtBlockB,
  resnextBlockFromGrouped,
  type ResNeXtBlockOptions,
  type ResNeXtForm,
  ResNeXtPath,
  type ResNeXtPathOptions,
  resnextToForm,
} from "./resnext_forms.ts";
