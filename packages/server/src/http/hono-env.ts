/** What the server keeps per request on Hono's context. */
export interface PavedHonoEnv {
  Variables: {
    requestId: string;
    /** The pattern of the matched route, for metrics; unset when no route matched. */
    routePattern: string;
  };
}
