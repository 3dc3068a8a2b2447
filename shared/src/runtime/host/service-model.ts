// The installed SDK's Greengrass IPC service model is the source of truth for operation names,
// response/event shapes and each operation's declared errors (GREENGRASS.md, "IPC wire protocol").
import { makeServiceModel } from 'aws-iot-device-sdk-v2/dist/greengrasscoreipc/model_utils';

export interface OperationShapes {
  readonly responseShape: string;
  readonly inboundMessageShape?: string;
  readonly errorShapes: ReadonlySet<string>;
}

const model = makeServiceModel();

export function operationShapes(operation: string): OperationShapes | undefined {
  const op = model.operations.get(operation);
  if (op === undefined) return undefined;
  return {
    responseShape: op.responseShape,
    ...(op.inboundMessageShape === undefined ? {} : { inboundMessageShape: op.inboundMessageShape }),
    errorShapes: op.errorShapes,
  };
}

export const ERROR_SHAPES = {
  unauthorized: 'aws.greengrass#UnauthorizedError',
  notFound: 'aws.greengrass#ResourceNotFoundError',
  invalidArguments: 'aws.greengrass#InvalidArgumentsError',
  service: 'aws.greengrass#ServiceError',
} as const;

/** The declared error shape to use, falling back to ServiceError when the operation lacks `wanted`. */
export function errorShapeFor(operation: string, wanted: string): string {
  const shapes = operationShapes(operation)?.errorShapes;
  return shapes?.has(wanted) === true ? wanted : ERROR_SHAPES.service;
}
