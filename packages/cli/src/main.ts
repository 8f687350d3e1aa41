/** Entry point of the `paved` command; returns the process exit code. */
export async function main(_argv: string[]): Promise<number> {
  return 0;
}
