import { createLogger } from '../../shared/src/logger';
import { captureLines as capture } from '../support/capture';

describe('logger', () => {
  it('writes JSON lines with the component, version and thing bindings', () => {
    const out = capture();
    const log = createLogger({
      component: 'com.example.Buffer',
      version: '1.2.3',
      thing: 'gw-7',
      destination: out.stream,
    });
    log.info({ depth: 3 }, 'store opened');
    expect(out.lines()[0]).toMatchObject({
      level: 'info',
      component: 'com.example.Buffer',
      version: '1.2.3',
      thing: 'gw-7',
      depth: 3,
      msg: 'store opened',
    });
  });

  it('redacts keys, certificates, tokens and payload bodies', () => {
    const out = capture();
    const log = createLogger({ component: 'c', version: '1', thing: 't', destination: out.stream });
    log.warn(
      {
        privateKey: '-----BEGIN PRIVATE KEY-----',
        region: { name: 'eu', certificate: '-----BEGIN CERTIFICATE-----', endpoint: 'a.example' },
        message: { topic: 'sensors/x', payload: 'secret reading', nested: { body: { v: 1 } } },
        svcuid: 'token-value',
      },
      'rejected',
    );
    const line = JSON.stringify(out.lines()[0]);
    for (const secret of [
      'BEGIN PRIVATE KEY',
      'BEGIN CERTIFICATE',
      'secret reading',
      'token-value',
      '"v":1',
    ]) {
      expect(line).not.toContain(secret);
    }
    expect(line).toContain('a.example');
    expect(line).toContain('sensors/x');
  });

  it('logs errors under err with their code', () => {
    const out = capture();
    const log = createLogger({ component: 'c', version: '1', thing: 't', destination: out.stream });
    const err = Object.assign(new Error('locked'), { code: 'STORE_BUSY' });
    log.error({ err }, 'append failed');
    expect(out.lines()[0]).toMatchObject({ err: { message: 'locked', code: 'STORE_BUSY', type: 'Error' } });
  });
});
