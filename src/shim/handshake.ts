// The one line a shim prints on stdout once it serves: the reading side validates it.
import * as z from 'zod';

export const Handshake = z.object({
  address: z.string().startsWith('/'),
  pid: z.number().int().positive(),
  version: z.string(),
});
export type Handshake = z.infer<typeof Handshake>;

export const SHIM_VERSION = '0.1.0';
