import { maskArguments, SECRET_MASK, type RenderedWorkload } from '@paved/core';

/**
 * Rendered workloads for display and diff: secret variables, secret arguments and secret file
 * content replaced by `(secret)`, binary content by its size. This is what the deployment keeps in the clear.
 */
export function maskRendered(workloads: readonly RenderedWorkload[]): unknown[] {
  return workloads.map((workload) => ({
    ...workload,
    containers: Object.fromEntries(
      Object.entries(workload.containers).map(([name, container]) => [
        name,
        {
          ...container,
          ...(container.command === undefined ? {} : { command: maskArguments(container, 'command') }),
          ...(container.args === undefined ? {} : { args: maskArguments(container, 'args') }),
          variables: Object.fromEntries(
            Object.entries(container.variables).map(([key, value]) => [
              key,
              container.secretVariables.includes(key) ? SECRET_MASK : value,
            ]),
          ),
          files: container.files.map((file) => ({
            ...file,
            content:
              file.secret === true
                ? SECRET_MASK
                : typeof file.content === 'string'
                  ? file.content
                  : `(binary, ${file.content.byteLength} bytes)`,
          })),
        },
      ]),
    ),
  }));
}

/** Rendered workloads with their secrets, as JSON (byte arrays as `{"$base64"}`), to be sealed. */
export function encodeRendered(workloads: readonly RenderedWorkload[]): string {
  return JSON.stringify(workloads, (_key, value: unknown) =>
    value instanceof Uint8Array ? { $base64: Buffer.from(value).toString('base64') } : value,
  );
}

export function decodeRendered(text: string): RenderedWorkload[] {
  return JSON.parse(text, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && '$base64' in value) {
      return new Uint8Array(Buffer.from(String(value.$base64), 'base64'));
    }
    return value;
  }) as RenderedWorkload[];
}
