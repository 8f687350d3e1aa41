import type { Subject } from '@paved/core';
import type { Principal, RoleGrant } from '@paved/store';

/** The caller of a request, established from its bearer token. */
export interface AuthenticatedPrincipal {
  id: string;
  name: string;
  kind: Principal['kind'];
  /** The token the request came with. */
  tokenId: string;
  /** Every grant that applies to the caller. */
  grants: RoleGrant[];
  /** What the authorisation policy is asked about. */
  subject: Subject;
}
