/**
 * The one error type that crosses package boundaries. Its code decides the HTTP status the server
 * answers with and the exit code the CLI ends with; nothing else may.
 */
export const ERROR_CODES = {
  INVALID_INPUT: { http: 400, exit: 2 },
  UNAUTHENTICATED: { http: 401, exit: 4 },
  FORBIDDEN: { http: 403, exit: 4 },
  NOT_FOUND: { http: 404, exit: 3 },
  CONFLICT: { http: 409, exit: 5 },
  PAYLOAD_TOO_LARGE: { http: 413, exit: 2 },
  TOO_MANY_REQUESTS: { http: 429, exit: 4 },
  DRIVER_FAILED: { http: 502, exit: 6 },
  TARGET_FAILED: { http: 502, exit: 6 },
  UNAVAILABLE: { http: 503, exit: 6 },
  INTERNAL: { http: 500, exit: 70 },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One located problem in a file or request body; validation reports every one of them at once. */
export interface Problem {
  /** The file the problem is in, when it came from a file. */
  file?: string;
  /** 1-based line and column, when the input had a source text. */
  line?: number;
  column?: number;
  /** JSON path of the offending value, e.g. `containers.web.image`. Empty for the document itself. */
  path: string;
  message: string;
  severity?: 'error' | 'warning';
}

export interface PavedErrorOptions {
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class PavedError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: PavedErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PavedError';
    this.code = code;
    this.details = options.details;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  /** The wire shape of the contracts: `{"error": {"code", "message", "details"}}`. */
  toJSON(): { error: { code: ErrorCode; message: string; details?: Record<string, unknown> } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }

  /** An INVALID_INPUT error listing every problem, with a summary naming the first one. */
  static invalid(summary: string, problems: Problem[]): PavedError {
    return new PavedError('INVALID_INPUT', summary, { details: { problems } });
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** Formats one problem as `file:line:column: path: message`, the way compilers do. */
export function formatProblem(problem: Problem): string {
  const where = [problem.file, problem.line, problem.column].filter((part) => part !== undefined).join(':');
  const path = problem.path === '' ? '' : `${problem.path}: `;
  return `${where === '' ? '' : `${where}: `}${problem.severity === 'warning' ? 'warning: ' : ''}${path}${problem.message}`;
}
