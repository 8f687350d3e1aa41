/**
 * Runtime extras: the contract lives in `@paved/core` (the render stage merges extras into the
 * workloads that use a resource); the template driver and driver authors keep reading it from here.
 * See docs/drivers/write-your-own.md.
 */
export {
  RUNTIME_EXTRAS_OUTPUT,
  runtimeExtrasOf,
  runtimeExtrasSchema,
  runtimeExtrasTemplateSchema,
  type RuntimeExtras,
} from '@paved/core';
