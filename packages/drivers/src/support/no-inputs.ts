import { z } from 'zod';

/** The inputs of a driver that takes none: any key given is a mistake worth reporting. */
export const noInputs = z.strictObject({});
