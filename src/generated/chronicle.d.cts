// Written by scripts/proto-codecs.mjs at build time (dist/src/generated/); only its type lives here.
import type { GeneratedProtos } from '../static-protos.js';

declare const generated: GeneratedProtos;
export = generated;
