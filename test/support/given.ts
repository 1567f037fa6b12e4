// Given-when-then over the pure projection (emmett's DeciderSpecification style):
//   given(containerCreated('c1')).then((s) => ...)
//   given(containerCreated('c1')).when(cmd).thenFails('TASK_STATE')
import assert from 'node:assert/strict';
import type { ErrorCode } from '../../src/errors.js';
import type { Fact } from '../../src/events/schemas.js';
import { decide, fold, initialState, type Command, type State } from '../../src/projections/index.js';
import { commit } from './facts.js';

export function given(...facts: Fact[]) {
  const state = fold(initialState(), commit(facts));
  return {
    state,
    then(check: (s: State) => void): void {
      check(state);
    },
    when(cmd: Command) {
      const d = decide(state, cmd);
      return {
        thenFails(code: ErrorCode): void {
          assert.equal(d.ok, false, `expected ${cmd.type} to be refused with ${code}`);
          if (!d.ok) assert.equal(d.error.code, code);
        },
        thenFacts(...types: Fact['type'][]): void {
          assert.equal(d.ok, true, d.ok ? '' : `refused: ${d.error.code}`);
          if (d.ok) assert.deepEqual(d.facts.map((f) => f.type), types);
        },
      };
    },
  };
}
