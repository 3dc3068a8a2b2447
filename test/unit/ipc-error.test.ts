import { ipcError } from '../../shared/src/runtime/greengrass-ipc-runtime';

describe('IPC errors from the SDK', () => {
  it("takes the nucleus's text from _message, where nucleus lite puts it", () => {
    const lite = {
      description: 'Eventstream RPC request failed.',
      serviceError: { _message: 'IPC Operation not authorized.', _errorCode: 'UnauthorizedError' },
    };
    expect(ipcError(lite, 'publish to x')).toMatchObject({
      code: 'IPC_UNAUTHORIZED',
      message: 'publish to x: IPC Operation not authorized.',
    });
  });

  it('falls back to message, then to the error code, and says when there is no text', () => {
    expect(
      ipcError({ serviceError: { message: 'no such key', _errorCode: 'ResourceNotFoundError' } }, 'read')
        .message,
    ).toBe('read: no such key');
    expect(
      ipcError({ serviceError: { _message: '', message: '', _errorCode: 'ServiceError' } }, 'validate')
        .message,
    ).toBe('validate: ServiceError');
    expect(ipcError({ serviceError: {} }, 'x')).toMatchObject({
      code: 'IPC_FAILED',
      message: 'x: service error (no message)',
    });
  });
});
