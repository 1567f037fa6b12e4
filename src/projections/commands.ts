// Commands: what a caller asks for, in the imperative. decide() checks them against the
// state before any side effect.
import type { ContainerCreated } from '../events/schemas.js';

interface Target {
  ns: string;
  id: string;
}

export type Command =
  | ({ type: 'CreateContainer'; spec: ContainerCreated } & Target)
  | ({ type: 'UpdateContainer'; labels: Record<string, string> } & Target)
  | ({ type: 'DeleteContainer' } & Target)
  | ({ type: 'CreateTask' } & Target)
  | ({ type: 'StartTask' } & Target)
  | ({ type: 'PauseTask' } & Target)
  | ({ type: 'ResumeTask' } & Target)
  | ({ type: 'KillTask'; execId?: string } & Target)
  | ({ type: 'DeleteTask'; force?: boolean } & Target)
  | ({ type: 'ExecProcess'; execId: string } & Target)
  | ({ type: 'StartExec'; execId: string } & Target)
  | ({ type: 'DeleteExec'; execId: string } & Target)
  | ({ type: 'CheckpointTask'; checkpointId: string } & Target)
  | ({ type: 'RestoreTask'; checkpointId: string } & Target)
  | ({ type: 'RemoveCheckpoint'; checkpointId: string } & Target);

export type CommandType = Command['type'];
