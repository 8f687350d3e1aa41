import { main } from '../main.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface FakeRequest {
  method: string;
  /** Scheme, host and port the client sent the request to. */
  origin: string;
  /** Path and query. */
  path: string;
  headers: Headers;
  body: unknown;
}

export interface FakeAnswer {
  status?: number;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is instead of `body`, e.g. a Server-Sent Events stream. */
  text?: string;
  headers?: Record<string, string>;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Makes stderr look like a terminal of this many columns. */
  tty?: { columns: number };
  /** Answers the client's requests in-process; every request is recorded in `requests`. */
  answer?: (request: FakeRequest) => FakeAnswer;
  requests?: FakeRequest[];
}

/**
 * Runs `main` in-process with captured output. The environment is empty unless given, so the
 * developer's own PAVED_* variables and credential files never leak into a test.
 */
export async function runCli(argv: string[], options: RunOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const answer = options.answer;
  const code = await main(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: {
      write: (text: string) => (stderr += text),
      ...(options.tty === undefined ? {} : { isTTY: true, columns: options.tty.columns }),
    },
    env: { HOME: '/nonexistent-home', ...options.env },
    cwd: options.cwd ?? '/nonexistent-cwd',
    ...(answer === undefined
      ? {}
      : {
          fetch: async (input, init) => {
            const url = new URL(
              input instanceof URL ? input.href : typeof input === 'string' ? input : input.url,
            );
            const text = typeof init?.body === 'string' ? init.body : undefined;
            const request: FakeRequest = {
              method: init?.method ?? 'GET',
              origin: url.origin,
              path: `${url.pathname}${url.search}`,
              headers: new Headers(init?.headers),
              body:
                text === undefined
                  ? init?.body instanceof Uint8Array
                    ? init.body
                    : undefined
                  : JSON.parse(text),
            };
            options.requests?.push(request);
            const { status = 200, body, text: raw, headers } = answer(request);
            if (raw !== undefined)
              return new Response(raw, { status, ...(headers === undefined ? {} : { headers }) });
            return body === undefined ? new Response(null, { status }) : Response.json(body, { status });
          },
        }),
  });
  return { code, stdout, stderr };
}
