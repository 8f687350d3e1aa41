import type { Subject } from '@paved/core';
import type { Principal, RoleGrant } from '@paved/store';

/** The caller of a request, established from its bearer token or portal session. */
export interface AuthenticatedPrincipal {
  id: string;
  name: string;
  kind: Principal['kind'];
  /** The app a service account belongs to. */
  app?: string;
  /** The token the request came with, or `session:<id>` for a portal session. */
  tokenId: string;
  /** How the caller proved who it is. */
  via: 'token' | 'session';
  /** The portal session, when `via` is `session`. */
  sessionId?: string;
  /** The teams the caller belongs to. */
  teams: string[];
  /** Every grant that applies to the caller: its own and its teams'. */
  grants: RoleGrant[];
  /** What the authorisation policy is asked about. */
  subject: Subject;
}
